"""`syncer run / validate / init` with an s3:// or sftp:// SOURCE, through the real CLI, against
the local S3 (moto) and SFTP (asyncssh) servers: the same results as the local file, the
temporary copy removed, and the refusals (password in the URL, missing extra, unknown host key,
store unreachable: exit 3)."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.cli_helpers import CliResult, private_env, read_results, syncer
from http_receiver import closed_port
from remote_servers import AWS_SECRET, SFTPServerHandle

from syncer.sandbox import SandboxHandle

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "mappings" / "leads.yaml"
SAMPLES = ROOT / "sample_data"

Put = Callable[[str, Path], str]


@pytest.fixture(params=["s3", "sftp"])
def put(request: pytest.FixtureRequest) -> Put:
    """Store a local file on the S3 or the SFTP server under ``drops/NAME``: its URL."""
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        return lambda name, path: bucket.put(f"drops/{name}", path)
    sftp: SFTPServerHandle = request.getfixturevalue("sftp")

    def put_sftp(name: str, path: Path) -> str:
        (sftp.root / "drops").mkdir(exist_ok=True)
        shutil.copyfile(path, sftp.root / "drops" / name)
        return sftp.url(f"drops/{name}")

    return put_sftp


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the commands download into (checked empty afterwards)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _cli(*args: str | Path, cwd: Path, home: Path, **kw: object) -> CliResult:
    res = syncer(*args, cwd=cwd, env=private_env(home), **kw)  # type: ignore[arg-type]
    for text in (res.stdout, res.stderr):
        assert AWS_SECRET not in text
    return res


def _local(tmp_path: Path, name: str) -> Path:
    """A folder holding a copy of the sample file ``name`` (the local run's side)."""
    folder = tmp_path / "local"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(SAMPLES / name, folder / name)
    return folder


@pytest.mark.parametrize("name", ["leads.csv", "leads.xlsx"])
def test_validate_remote_gives_the_local_results(
    put: Put, name: str, tmp_path: Path, scratch: Path
) -> None:
    url = put(name, SAMPLES / name)
    local = _local(tmp_path, name)
    here = tmp_path / "here"
    here.mkdir()
    want = _cli("validate", name, "--mapping", MAPPING, "--json", cwd=local, home=tmp_path / "l")
    got = _cli("validate", url, "--mapping", MAPPING, "--json", cwd=here, home=tmp_path)
    assert got.code == want.code == 1, got.stderr
    keys = ("rows", "ready", "duplicate", "invalid", "issues")
    assert {k: got.json[k] for k in keys} == {k: want.json[k] for k in keys}
    stem = Path(name).stem
    assert got.json["results"] == f"{stem}.results.csv"  # the current folder
    for out in (f"{stem}.results.csv", f"{stem}.failures.csv"):
        assert (here / out).read_bytes() == (local / out).read_bytes(), out
    assert list(scratch.iterdir()) == []  # the downloaded copy is gone


def test_init_remote_writes_the_local_mapping(put: Put, tmp_path: Path, scratch: Path) -> None:
    url = put("leads.csv", SAMPLES / "leads.csv")
    local = _local(tmp_path, "leads.csv")
    here = tmp_path / "here"
    here.mkdir()
    want = _cli("init", "leads.csv", cwd=local, home=tmp_path / "l")
    got = _cli("init", url, cwd=here, home=tmp_path)
    assert got.code == want.code, got.stderr
    assert f"next: syncer validate {url} --mapping leads.yaml" in got.stdout
    text = (here / "leads.yaml").read_text(encoding="utf-8")
    assert url in text
    assert text.replace(url, "leads.csv") == (local / "leads.yaml").read_text(encoding="utf-8")
    assert list(scratch.iterdir()) == []


def _first_rows(n: int, dest: Path) -> Path:
    """The sample's header and first ``n`` records (a run's pacing starts slow: keep it short)."""
    with (SAMPLES / "leads.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[: n + 1]
    with dest.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return dest


def test_run_remote_imports_like_the_local_file_and_the_ledger_names_the_url(
    put: Put, tmp_path: Path, scratch: Path, live_sandbox: SandboxHandle
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    sample = _first_rows(12, local / "leads.csv")
    url = put("leads.csv", sample)
    here = tmp_path / "here"
    here.mkdir()
    args = ("--mapping", MAPPING, "--json", "--quiet")
    conn = {"api_key": live_sandbox.api_key, "base_url": live_sandbox.base_url}
    want = _cli("run", "leads.csv", *args, cwd=local, home=tmp_path / "l", **conn)
    live_sandbox.admin.reset()
    got = _cli("run", url, *args, cwd=here, home=tmp_path, **conn)
    assert got.code == want.code, got.stderr
    for key in ("rows", "succeeded", "invalid", "duplicate", "failed"):
        assert got.json[key] == want.json[key], key

    def statuses(path: Path) -> list[tuple[str, str]]:
        return [(r["source_row"], r["status"]) for r in read_results(path)]

    assert statuses(here / "leads.results.csv") == statuses(local / "leads.results.csv")
    with sqlite3.connect(private_env(tmp_path)["SYNCER_LEDGER"]) as db:
        source, digest = db.execute("SELECT source, source_sha256 FROM runs").fetchone()
    assert source == url
    assert digest == hashlib.sha256(sample.read_bytes()).hexdigest()
    assert list(scratch.iterdir()) == []


def test_check_reads_a_remote_source_like_the_local_file(
    put: Put, tmp_path: Path, scratch: Path, live_sandbox: SandboxHandle
) -> None:
    local = _local(tmp_path, "leads.csv")
    url = put("leads.csv", SAMPLES / "leads.csv")
    conn = {"api_key": live_sandbox.api_key, "base_url": live_sandbox.base_url}
    args = ("--mapping", MAPPING, "--json")
    want = _cli("check", "leads.csv", *args, cwd=local, home=tmp_path / "l", **conn)
    got = _cli("check", url, *args, cwd=tmp_path, home=tmp_path, **conn)
    assert got.code == want.code, got.stderr
    assert got.json["ok"] == want.json["ok"]
    assert got.json.get("notes") == want.json.get("notes")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("sftp://vendor:hunter2pass@127.0.0.1/drops/leads.csv", "SSH key or agent"),
        ("s3://AKIAEXAMPLE:hunter2pass@bucket/leads.csv", "AWS default chain"),
    ],
)
def test_a_password_in_the_url_is_refused(url: str, where: str, tmp_path: Path) -> None:
    res = _cli("validate", url, "--mapping", MAPPING, "--json", cwd=tmp_path, home=tmp_path)
    assert res.code == 2
    assert "hunter2pass" not in res.stdout + res.stderr
    assert where in res.stderr and "--storage-options" in res.stderr
    assert res.json["error"]["code"] == "config"


@pytest.mark.parametrize(("scheme", "module"), [("s3", "s3fs"), ("sftp", "sshfs")])
def test_a_missing_extra_is_named(
    scheme: str, module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    url = f"{scheme}://files.example.com/leads.csv"
    res = _cli("validate", url, "--mapping", MAPPING, cwd=tmp_path, home=tmp_path)
    assert res.code == 2
    assert f"pip install 'syncer[{scheme}]'" in res.stderr


def test_unknown_sftp_host_key_refused_then_accepted_with_the_flag(
    sftp: SFTPServerHandle, tmp_path: Path, scratch: Path
) -> None:
    (sftp.root / "leads.csv").write_bytes((SAMPLES / "leads.csv").read_bytes())
    sftp.forget_host_key()
    args = ("validate", sftp.url("leads.csv"), "--mapping", MAPPING)
    res = _cli(*args, "--json", cwd=tmp_path, home=tmp_path)
    assert res.code == 2
    assert "known_hosts" in res.stderr and "--sftp-insecure-accept-host-key" in res.stderr
    assert res.json["error"]["code"] == "host_key"
    assert not (tmp_path / "leads.results.csv").exists()
    res = _cli(*args, "--sftp-insecure-accept-host-key", cwd=tmp_path, home=tmp_path)
    assert res.code == 1, res.stderr  # the sample has invalid rows on purpose
    assert (tmp_path / "leads.results.csv").exists()
    assert list(scratch.iterdir()) == []


def test_storage_options_file_gives_the_endpoint_and_credentials(
    s3_bucket: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_bucket
    url = bucket.put("leads.csv", SAMPLES / "leads.csv")  # type: ignore[attr-defined]
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    opts = tmp_path / "store.json"
    opts.write_text(
        json.dumps(
            {"endpoint_url": bucket.endpoint, "key": "AKIAFROMFILE", "secret": AWS_SECRET}  # type: ignore[attr-defined]
        )
    )
    args = ("validate", url, "--mapping", MAPPING, "--storage-options", opts)
    res = _cli(*args, cwd=tmp_path, home=tmp_path)
    assert res.code == 1, res.stderr
    assert (tmp_path / "leads.results.csv").exists()


@pytest.mark.parametrize("scheme", ["s3", "sftp"])
def test_an_unreachable_store_exits_3_naming_it(
    scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch: Path
) -> None:
    port = closed_port()
    if scheme == "s3":
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        url, check = "s3://bucket/leads.csv", "AWS_ENDPOINT_URL"
    else:
        url, check = f"sftp://syncer@127.0.0.1:{port}/leads.csv", f"on port {port}"
    res = _cli("validate", url, "--mapping", MAPPING, "--json", cwd=tmp_path, home=tmp_path)
    assert res.code == 3, res.stderr
    assert url in res.stderr and check in res.stderr and "attempts" in res.stderr
    assert res.json["error"]["code"] == "storage_unreachable"
    assert not (tmp_path / "leads.results.csv").exists()
    assert list(scratch.iterdir()) == []
