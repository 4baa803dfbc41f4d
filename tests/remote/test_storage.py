"""syncer.storage against real local stores: moto's S3 server and an asyncssh SFTP server."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from http_receiver import closed_port
from remote_servers import AWS_SECRET, FlakyProxy, S3Bucket, SFTPServerHandle

from syncer.errors import ConfigError, SourceError, StorageUnreachable
from syncer.storage import RemoteStore, fetched, parse_location

DATA = b"email,first_name\nada@example.com,Ada\n" * 1000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- parsing -----------------------------------------------------------------------------------


def test_parse_local_s3_and_sftp() -> None:
    local = parse_location("data/leads.csv")
    assert (local.scheme, local.is_remote, local.path) == ("file", False, "data/leads.csv")
    s3 = parse_location("s3://bucket/drops/leads.csv")
    assert (s3.scheme, s3.url, s3.path, s3.name) == (
        "s3",
        "s3://bucket/drops/leads.csv",
        "bucket/drops/leads.csv",
        "leads.csv",
    )
    assert s3.is_remote and not s3.is_folder
    prefix = parse_location("s3://bucket/drops/")
    assert (prefix.path, prefix.is_folder, prefix.child("a.csv").url) == (
        "bucket/drops",
        True,
        "s3://bucket/drops/a.csv",
    )
    sftp = parse_location("sftp://vendor@files.example.com:2222/inbox/leads.csv")
    assert (sftp.scheme, sftp.host, sftp.port, sftp.user, sftp.path) == (
        "sftp",
        "files.example.com",
        2222,
        "vendor",
        "/inbox/leads.csv",
    )
    assert sftp.url == "sftp://vendor@files.example.com:2222/inbox/leads.csv"
    root = parse_location("sftp://files.example.com/")
    assert (root.path, root.is_folder, root.child("a.csv").path) == ("/", True, "/a.csv")


@pytest.mark.parametrize(
    "url",
    ["sftp://vendor:hunter2secret@files.example.com/inbox/", "s3://AKIA1:hunter2secret@bucket/k"],
)
def test_a_password_in_the_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_location(url)
    message = str(err.value)
    assert "hunter2secret" not in message
    assert "--storage-options" in message
    assert ("SSH key or agent" in message) if url.startswith("sftp") else ("AWS" in message)


def test_unknown_scheme_and_query_refused() -> None:
    with pytest.raises(ConfigError, match="gs:// is not a store"):
        parse_location("gs://bucket/key")
    with pytest.raises(ConfigError, match="--storage-options"):
        parse_location("s3://bucket/key?X-Amz-Signature=abc")


@pytest.mark.parametrize(("scheme", "module"), [("s3", "s3fs"), ("sftp", "sshfs")])
def test_a_missing_extra_is_named(
    scheme: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(ConfigError, match=rf"pip install 'syncer\[{scheme}\]'"):
        parse_location(f"{scheme}://host/key.csv")


def test_storage_options_file(tmp_path: Path) -> None:
    opts = tmp_path / "opts.yaml"
    opts.write_text("endpoint_url: http://127.0.0.1:1\nkey: AKIA\nsecret: s3cr3t-value\n")
    loc = parse_location("s3://b/k.csv", storage_options=opts)
    assert loc.options["secret"] == "s3cr3t-value"
    assert "s3cr3t" not in repr(loc)
    bad = tmp_path / "bad.json"
    bad.write_text('{"secret": "s3cr3t-value",')
    with pytest.raises(ConfigError) as err:
        parse_location("s3://b/k.csv", storage_options=bad)
    assert "s3cr3t" not in str(err.value) and "bad.json" in str(err.value)


# -- S3 ----------------------------------------------------------------------------------------


def test_s3_list_fetch_put_move_remove(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    s3_bucket.put("drop/leads.csv", DATA)
    s3_bucket.put("drop/sub/other.csv", b"x")
    loc = parse_location(s3_bucket.url("drop/"))
    with RemoteStore(loc) as store:
        entries = store.list()
        assert [(e.name, e.is_dir) for e in entries] == [("leads.csv", False), ("sub", True)]
        leads = entries[0]
        assert leads.size == len(DATA) and leads.etag and leads.mtime > 0
        assert store.fetch(leads.path, tmp_path / "got.csv") == _sha(DATA)
        assert (tmp_path / "got.csv").read_bytes() == DATA
        store.move(leads.path, f"{s3_bucket.name}/drop/archive/leads.csv")
        store.move(leads.path, f"{s3_bucket.name}/drop/archive/leads.csv")  # retried: done
        (tmp_path / "r.csv").write_bytes(b"results")
        store.put(tmp_path / "r.csv", f"{s3_bucket.name}/drop/archive/leads.results.csv")
        assert store.exists(f"{s3_bucket.name}/drop/archive/leads.csv")
        store.remove(f"{s3_bucket.name}/drop/sub/other.csv")
        store.remove(f"{s3_bucket.name}/drop/sub/other.csv")  # already gone: fine
    assert s3_bucket.keys() == ["drop/archive/leads.csv", "drop/archive/leads.results.csv"]
    assert s3_bucket.get("drop/archive/leads.csv") == DATA


def test_s3_fetched_is_a_temporary_copy(s3_bucket: S3Bucket) -> None:
    url = s3_bucket.put("leads.csv", DATA)
    with fetched(parse_location(url)) as copy:
        assert copy.remote and copy.path.name == "leads.csv" and copy.url == url
        assert copy.path.read_bytes() == DATA and copy.sha256 == _sha(DATA)
        folder = copy.path.parent
    assert not folder.exists()


def test_s3_missing_object_is_a_source_error(s3_bucket: S3Bucket) -> None:
    with pytest.raises(SourceError, match="does not exist"), fetched(s3_bucket.url("nope.csv")):
        pass


def test_s3_unreachable_after_retries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = RemoteStore(parse_location("s3://bucket/leads.csv"), attempts=2, backoff_s=0.01)
    with pytest.raises(StorageUnreachable) as err:
        store.fetch("bucket/leads.csv", tmp_path / "x")
    message = str(err.value)
    assert "s3://bucket/leads.csv" in message and "2 attempts" in message
    assert "AWS_ENDPOINT_URL" in message and AWS_SECRET not in message
    assert err.value.exit_code == 3


# -- SFTP --------------------------------------------------------------------------------------


def test_sftp_list_fetch_put_move_remove(sftp: SFTPServerHandle, tmp_path: Path) -> None:
    (sftp.root / "drop").mkdir()
    (sftp.root / "drop" / "leads.csv").write_bytes(DATA)
    loc = parse_location(sftp.url("drop/"))
    with RemoteStore(loc) as store:
        entries = store.list()
        assert [(e.name, e.size, e.etag) for e in entries] == [("leads.csv", len(DATA), None)]
        assert entries[0].mtime == pytest.approx(
            (sftp.root / "drop" / "leads.csv").stat().st_mtime, abs=1
        )
        assert store.fetch("/drop/leads.csv", tmp_path / "got.csv") == _sha(DATA)
        store.makedirs("/drop/archive")
        store.move("/drop/leads.csv", "/drop/archive/leads.csv")
        (tmp_path / "r.csv").write_bytes(b"results")
        store.put(tmp_path / "r.csv", "/drop/archive/leads.results.csv")
        store.put(tmp_path / "r.csv", "/drop/archive/leads.results.csv")  # replaced
        assert store.exists("/drop/archive/leads.csv")
        store.remove("/drop/archive/leads.results.csv")
    assert sorted(p.name for p in (sftp.root / "drop" / "archive").iterdir()) == ["leads.csv"]
    assert sftp.logins and set(sftp.logins) == {"syncer"}


def test_sftp_fetched(sftp: SFTPServerHandle) -> None:
    (sftp.root / "leads.csv").write_bytes(DATA)
    with fetched(parse_location(sftp.url("leads.csv"))) as copy:
        assert copy.path.read_bytes() == DATA and copy.sha256 == _sha(DATA)
        folder = copy.path.parent
    assert not folder.exists()


def test_sftp_unknown_host_key_refused_unless_the_flag(sftp: SFTPServerHandle) -> None:
    (sftp.root / "leads.csv").write_bytes(DATA)
    sftp.forget_host_key()
    with pytest.raises(ConfigError) as err, fetched(sftp.url("leads.csv")):
        pass
    assert err.value.code == "host_key"
    assert "known_hosts" in str(err.value) and "--sftp-insecure-accept-host-key" in str(err.value)
    loc = parse_location(sftp.url("leads.csv"), sftp_insecure_accept_host_key=True)
    with fetched(loc) as copy:
        assert copy.path.read_bytes() == DATA


def test_sftp_unknown_client_key_is_access_denied(sftp: SFTPServerHandle) -> None:
    sftp.server.state.client_keys = []
    with pytest.raises(SourceError) as err, fetched(sftp.url("leads.csv")):
        pass
    assert err.value.code == "storage_denied" and "SSH key or agent" in str(err.value)


def test_sftp_unreachable_after_retries(sftp: SFTPServerHandle, tmp_path: Path) -> None:
    loc = parse_location(f"sftp://syncer@127.0.0.1:{closed_port()}/leads.csv")
    store = RemoteStore(loc, attempts=3, backoff_s=0.01)
    with pytest.raises(StorageUnreachable) as err:
        store.fetch("/leads.csv", tmp_path / "x")
    assert "3 attempts" in str(err.value) and loc.url in str(err.value)


def test_the_backoff_base_is_half_a_second_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """$SYNCER_STORAGE_BACKOFF_S (the suite sets it in tests/conftest.py) changes only the
    pauses' base; a value that is not a number from 0 to the cap is ignored."""
    from syncer.storage.store import ATTEMPTS, BACKOFF_ENV, BACKOFF_S

    loc = parse_location("s3://bucket/leads.csv")
    for raw, want in (("0.01", 0.01), ("0", 0.0), ("x", BACKOFF_S), ("-1", BACKOFF_S),
                      ("nan", BACKOFF_S), ("60", BACKOFF_S)):  # fmt: skip
        monkeypatch.setenv(BACKOFF_ENV, raw)
        store = RemoteStore(loc)
        assert (store.backoff_s, store.attempts) == (want, ATTEMPTS), raw
    assert RemoteStore(loc, backoff_s=0.2).backoff_s == 0.2
    monkeypatch.delenv(BACKOFF_ENV)
    assert RemoteStore(loc).backoff_s == BACKOFF_S == 0.5


# -- a local folder (the same API) -------------------------------------------------------------


def test_local_folder_list_fetch_put_move(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "leads.csv").write_bytes(DATA)
    with RemoteStore(parse_location(str(drop))) as store:
        [entry] = store.list()
        assert (entry.name, entry.size, entry.is_dir) == ("leads.csv", len(DATA), False)
        assert entry.mtime == pytest.approx((drop / "leads.csv").stat().st_mtime)
        assert store.fetch(entry.path, tmp_path / "copy.csv") == _sha(DATA)
        store.move(entry.path, str(drop / "archive" / "leads.csv"))
        store.put(tmp_path / "copy.csv", str(drop / "archive" / "leads.results.csv"))
    assert sorted(p.name for p in (drop / "archive").iterdir()) == [
        "leads.csv",
        "leads.results.csv",
    ]
    with fetched(str(drop / "archive" / "leads.csv")) as copy:
        assert not copy.remote and copy.path == drop / "archive" / "leads.csv"
        assert copy.sha256 == _sha(DATA)


def test_sftp_move_into_a_missing_folder_names_it(sftp: SFTPServerHandle) -> None:
    (sftp.root / "leads.csv").write_bytes(DATA)
    with RemoteStore(parse_location(sftp.url())) as store, pytest.raises(SourceError) as err:
        store.move("/leads.csv", "/archive/leads.csv")
    assert "the folder" in str(err.value) and "/archive does not exist" in str(err.value)
    assert (sftp.root / "leads.csv").exists()


def test_which_faults_are_tried_again() -> None:
    asyncssh = pytest.importorskip("asyncssh")
    botocore = pytest.importorskip("botocore.exceptions")
    from syncer.storage.faults import is_network_fault

    busy = botocore.ClientError(
        {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject"
    )
    denied = botocore.ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Get"
    )
    wrapped = OSError("SlowDown")
    wrapped.__cause__ = busy
    again = [
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        asyncssh.ConnectionLost("lost"),
        botocore.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        busy,
        wrapped,
    ]
    final = [
        FileNotFoundError(2, "no"),
        PermissionError(13, "no"),
        asyncssh.HostKeyNotVerifiable("unknown host key"),  # a DisconnectError, but final
        asyncssh.PermissionDenied("auth"),
        botocore.NoCredentialsError(),
        denied,
        ValueError("a bug"),
        ConfigError("ours"),
    ]
    assert [is_network_fault(e) for e in again] == [True] * len(again)
    assert [is_network_fault(e) for e in final] == [False] * len(final)


def test_a_dropped_connection_is_tried_again_s3(
    s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_bucket.put("leads.csv", DATA)
    port = int(s3_bucket.endpoint.rpartition(":")[2])
    with FlakyProxy(port, drop=2) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
        store = RemoteStore(parse_location(s3_bucket.url("leads.csv")), backoff_s=0.01)
        assert store.fetch(f"{s3_bucket.name}/leads.csv", tmp_path / "x") == _sha(DATA)
    assert proxy.accepted >= 3  # two resets, then the download


def test_a_dropped_connection_is_tried_again_sftp(sftp: SFTPServerHandle, tmp_path: Path) -> None:
    (sftp.root / "leads.csv").write_bytes(DATA)
    with FlakyProxy(sftp.port, drop=2) as proxy:
        loc = parse_location(
            f"sftp://syncer@127.0.0.1:{proxy.port}/leads.csv", sftp_insecure_accept_host_key=True
        )
        store = RemoteStore(loc, backoff_s=0.01)
        assert store.fetch("/leads.csv", tmp_path / "x") == _sha(DATA)
    assert proxy.accepted == 3
