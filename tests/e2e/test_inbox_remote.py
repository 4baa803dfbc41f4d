"""Issue 16: ``syncer inbox`` on an S3 prefix and an SFTP folder, through the real CLI.

Real stores on loopback (moto's S3 server and an asyncssh SFTP server, shared by the session:
tests/remote_servers.py) and the session's sandbox. Each test asserts exact numbers from the
outside: exit codes, the ``--json`` report, the objects on the store, the sandbox's counts.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from http_receiver import Receiver, closed_port
from remote_servers import S3Bucket, SFTPServerHandle
from wait_helpers import wait_until

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, read_results, syncer
from .ledger_helpers import ENDPOINT, HEADER, lead, write_mapping
from .robust_helpers import spawn
from .test_inbox import FAST

pytestmark = pytest.mark.timeout(300)


def _csv(rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def _answered(sb: SandboxHandle) -> int:
    return int(sb.admin.stats()["by_path_status"].get(ENDPOINT, {}).get("200", 0))


class Drop:
    """The drop folder ``drop/`` on one store, as the vendor and the test see it."""

    url: str

    def put(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def files(self) -> dict[str, bytes]:
        """Every file under the drop folder (archive included) by its path in the folder."""
        raise NotImplementedError

    def top(self) -> list[str]:
        """The files at the top of the drop folder (what a scan would take)."""
        return sorted(name for name in self.files() if "/" not in name)


@dataclass
class S3Drop(Drop):
    bucket: S3Bucket

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.bucket.url("drop/")

    def put(self, name: str, data: bytes) -> None:
        self.bucket.put(f"drop/{name}", data)

    def files(self) -> dict[str, bytes]:
        keys = self.bucket.keys("drop/")
        return {k.removeprefix("drop/"): self.bucket.get(k) for k in keys}


@dataclass
class SFTPDrop(Drop):
    server: SFTPServerHandle

    def __post_init__(self) -> None:
        (self.server.root / "drop").mkdir()

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.server.url("drop")

    @property
    def folder(self) -> Path:
        return self.server.root / "drop"

    def put(self, name: str, data: bytes) -> None:
        (self.folder / name).write_bytes(data)

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.folder).as_posix(): p.read_bytes()
            for p in self.folder.rglob("*")
            if p.is_file()
        }


@pytest.fixture(params=["s3", "sftp"])
def drop(request: pytest.FixtureRequest) -> Drop:
    """The drop folder on S3, then on SFTP."""
    if request.param == "s3":
        return S3Drop(request.getfixturevalue("s3_bucket"))
    return SFTPDrop(request.getfixturevalue("sftp"))


def _inbox(
    drop: Drop | str,
    work: Path,
    sb: SandboxHandle,
    *extra: str | Path,
    env: dict[str, str] | None = None,
) -> CliResult:
    url = drop if isinstance(drop, str) else drop.url
    return syncer(
        "inbox", url, "--mapping", work / "leads.yaml", "--ledger", work / "l.db", "--json",
        "-q", *FAST, *extra, cwd=work, api_key=sb.api_key, base_url=sb.base_url, env=env,
    )  # fmt: skip


def _archived(files: dict[str, bytes], name: str) -> list[str]:
    """Paths in the archive of ``<run>-<name>`` (the file itself, or one of its outputs)."""
    return sorted(
        p for p in files if p.startswith("archive/") and p.rpartition("/")[2].endswith(f"-{name}")
    )


def test_three_nights_on_the_store_send_only_what_changed_and_never_a_file_twice(
    drop: Drop, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    write_mapping(tmp_path / "leads.yaml")
    drop.put("night1.csv", _csv(lead(i) for i in range(1000)))
    first = _inbox(drop, tmp_path, sb)
    assert first.code == 0, first.stderr
    [night1] = first.json["files"]
    assert (night1["name"], night1["status"], night1["succeeded"]) == ("night1.csv", "done", 1000)
    assert first.json["inbox"] == drop.url
    assert _answered(sb) == 1000

    # night 2: 900 rows the same, 50 changed, 50 new
    rows = [lead(i) for i in range(900)] + [lead(i, 2) for i in range(900, 950)]
    rows += [lead(i) for i in range(2000, 2050)]
    drop.put("night2.csv", _csv(rows))
    second = _inbox(drop, tmp_path, sb)
    assert second.code == 0, second.stderr
    [night2] = second.json["files"]
    assert (night2["status"], night2["succeeded"], night2["unchanged"]) == ("done", 100, 900)
    assert _answered(sb) == 1100, "exactly 100 upserts on night 2"

    # night 3: night 2's content again under a third name
    drop.put("night3.csv", _csv(rows))
    before = sb.admin.stats()["total_requests"]
    third = _inbox(drop, tmp_path, sb)
    assert third.code == 0, third.stderr
    assert [(f["name"], f["status"]) for f in third.json["files"]] == [
        ("night3.csv", "skipped_duplicate")
    ]
    assert third.json["requests"] == 0
    assert sb.admin.stats()["total_requests"] == before, "a duplicate file sent requests"

    files = drop.files()
    assert drop.top() == [], "files left in the inbox"
    day = date.today().isoformat()
    run = {r.json["files"][0]["name"]: r.json["run_id"] for r in (first, second, third)}
    for name, bucket in (
        ("night1", "processed"),
        ("night2", "processed"),
        ("night3", "duplicates"),
    ):
        where = f"archive/{bucket}/{day}/{run[name + '.csv']}-{name}.csv"
        assert _archived(files, f"{name}.csv") == [where]
    assert files[f"archive/duplicates/{day}/{run['night3.csv']}-night3.csv"] == _csv(rows)
    for name in ("night1", "night2"):
        # the results beside the archived file on the store, and the same file locally
        [remote] = _archived(files, f"{name}.results.csv")
        local = Path(next(f["results"] for f in (night1, night2) if f["name"] == f"{name}.csv"))
        assert local.is_file() and local.is_relative_to(tmp_path / "inbox-results")
        assert files[remote] == local.read_bytes()
        assert len(read_results(local)) == 1000
        assert len(_archived(files, f"{name}.report.html")) == 1, "the file's report"
        assert night1["archived"].startswith(drop.url.rstrip("/") + "/archive/processed/")
    reports = [p for p in files if p.startswith(f"archive/reports/{day}/")]
    assert len(reports) == 2, reports  # one per run that imported something
    history = syncer("runs", "--ledger", tmp_path / "l.db", "--json", cwd=tmp_path)
    assert [[f["status"] for f in r["files"]] for r in history.json["inbox_runs"]] == [
        ["skipped_duplicate"],
        ["done"],
        ["done"],
    ]
    assert {r["inbox"] for r in history.json["inbox_runs"]} == {drop.url}
    base = drop.url.rstrip("/")
    assert [r["source"] for r in history.json["runs"]] == [
        f"{base}/night2.csv",
        f"{base}/night1.csv",
    ]


def test_a_bad_file_goes_to_failed_with_its_note_and_markers_go_with_their_files(
    drop: Drop, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    write_mapping(tmp_path / "leads.yaml")
    drop.put("bad.csv", bytes(range(256)) * 64)  # binary, named .csv
    drop.put("bad.csv.done", b"")
    drop.put("good.csv", _csv(lead(i) for i in range(7)))
    drop.put("good.csv.done", b"")
    drop.put("waiting.csv", _csv(lead(i) for i in range(3)))  # no marker yet
    dry = _inbox(drop, tmp_path, sb, "--ready-marker", ".done", "--dry-run")
    assert dry.code == 2, dry.stderr
    assert {f["name"]: f["status"] for f in dry.json["files"]} == {
        "bad.csv": "failed",
        "good.csv": "ready",
        "waiting.csv": "not_ready",
    }
    assert sb.admin.stats()["total_requests"] == 0 and len(drop.files()) == 5
    [dry_bad] = [f for f in dry.json["files"] if f["name"] == "bad.csv"]
    assert "binary" in dry_bad["error"] and "/tmp" not in dry_bad["error"], dry_bad
    res = _inbox(drop, tmp_path, sb, "--ready-marker", ".done")
    assert res.code == 2, res.stderr
    by_name = {f["name"]: f for f in res.json["files"]}
    assert {n: f["status"] for n, f in by_name.items()} == {
        "bad.csv": "failed",
        "good.csv": "done",
        "waiting.csv": "not_ready",
    }
    assert "/tmp" not in by_name["bad.csv"]["error"], "the temporary copy was named"
    assert _answered(sb) == 7
    files = drop.files()
    assert drop.top() == ["waiting.csv"]
    day, run = date.today().isoformat(), res.json["run_id"]
    assert sorted(p for p in files if p.startswith("archive/failed/")) == [
        f"archive/failed/{day}/{run}-bad.csv",
        f"archive/failed/{day}/{run}-bad.csv.done",
        f"archive/failed/{day}/{run}-bad.csv.error.txt",
    ]
    note = files[f"archive/failed/{day}/{run}-bad.csv.error.txt"].decode("utf-8")
    assert note.startswith("bad.csv: ") and "What to do" in note and "/tmp" not in note
    assert f"archive/processed/{day}/{run}-good.csv.done" in files


def test_only_settled_files_are_taken_from_the_store(
    drop: Drop, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    write_mapping(tmp_path / "leads.yaml")
    for name in (".hidden.csv", "upload.csv.part", "x.tmp"):
        drop.put(name, _csv([lead(0)]))
    drop.put("young.csv", _csv(lead(i) for i in range(4)))
    young = _inbox(drop, tmp_path, sb, "--min-age", "1h", "--settle", "0")
    assert young.code == 0, young.stderr
    assert [(f["name"], f["status"]) for f in young.json["files"]] == [("young.csv", "not_ready")]
    assert "needs 3600 s (--min-age)" in young.json["files"][0]["error"]

    stop = threading.Event()
    rows = [lead(i) for i in range(100, 110)]

    def upload() -> None:  # the sender, still writing the file
        while not stop.wait(0.1):
            rows.append(lead(len(rows) + 100))
            drop.put("growing.csv", _csv(rows))

    drop.put("growing.csv", _csv(rows))
    writer = threading.Thread(target=upload)
    writer.start()
    try:
        res = _inbox(drop, tmp_path, sb, "--min-age", "0", "--settle", "1s", "--pattern", "grow*")
    finally:
        stop.set()
        writer.join()
    assert res.code == 0, res.stderr
    assert [(f["name"], f["status"]) for f in res.json["files"]] == [("growing.csv", "not_ready")]
    assert "still being written" in res.json["files"][0]["error"]
    assert sb.admin.stats()["total_requests"] == 0

    done = _inbox(drop, tmp_path, sb)
    assert done.code == 0, done.stderr
    statuses = {f["name"]: (f["status"], f["succeeded"]) for f in done.json["files"]}
    assert statuses == {"growing.csv": ("done", len(rows)), "young.csv": ("done", 4)}
    assert drop.top() == [".hidden.csv", "upload.csv.part", "x.tmp"]


def test_keep_leaves_the_store_untouched_and_a_second_run_imports_nothing(
    drop: Drop, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    write_mapping(tmp_path / "leads.yaml")
    drop.put("a.csv", _csv(lead(i) for i in range(10)))
    drop.put("a.csv.done", b"")
    before = drop.files()
    kept = _inbox(drop, tmp_path, sb, "--keep", "--ready-marker", ".done")
    assert kept.code == 0, kept.stderr
    assert [(f["status"], f["succeeded"], f["archived"]) for f in kept.json["files"]] == [
        ("done", 10, None)
    ]
    assert Path(kept.json["files"][0]["results"]).is_file(), "no local results"
    assert drop.files() == before, "--keep changed the store"
    requests = sb.admin.stats()["total_requests"]
    again = _inbox(drop, tmp_path, sb, "--keep", "--ready-marker", ".done")
    assert again.code == 0, again.stderr
    assert [f["status"] for f in again.json["files"]] == ["skipped_duplicate"]
    assert sb.admin.stats()["total_requests"] == requests, "imported twice"
    assert drop.files() == before, "--keep changed the store"


def test_an_unreachable_store_exits_3_alerts_failure_and_moves_nothing(
    drop: Drop, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    write_mapping(tmp_path / "leads.yaml")
    drop.put("a.csv", _csv(lead(i) for i in range(5)))
    before = drop.files()
    port = closed_port()
    if isinstance(drop, S3Drop):
        url, env = drop.url, {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    else:
        assert isinstance(drop, SFTPDrop)
        url, env = drop.url.replace(f":{drop.server.port}/", f":{port}/"), None
    receiver = Receiver()
    try:
        alerting = ["--webhook", receiver.url("/hook"), "--notify", receiver.url("/note", "json")]
        res = _inbox(url, tmp_path, sb, *alerting, env=env)
        got = receiver.take()
    finally:
        receiver.close()
    assert res.code == 3, res.stderr
    assert res.json["error"]["code"] == "storage_unreachable", res.json
    assert res.json["files"] == [] and res.json["processed"] == 0
    shown = url.rstrip("/")  # the store's errors name the folder without its last slash
    assert f"error: could not list {shown}" in res.stderr, res.stderr
    assert shown in res.json["error"]["message"], res.json
    hooks = [r.json() for r in got if r.path == "/hook"]
    assert [(h["event"], h["exit_code"]) for h in hooks] == [("failure", 3)]
    [note] = [r.json() for r in got if r.path == "/note"]
    assert note["type"] == "failure" and f"could not list {shown}" in note["message"], note
    assert "To do:" in note["message"] and "Nothing was moved half-way" in note["message"]
    assert sb.admin.stats()["total_requests"] == 0
    assert drop.files() == before, "something was moved"


# --- kill -9 in the middle of an S3 archive copy ---------------------------------------------


SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class CopyGate:
    """A second endpoint of the session's moto server (the same buckets: moto keeps them in
    this process) that holds every server-side copy (``x-amz-copy-source``) until released:
    ``when="before"`` holds the request and never lets moto see it, ``"after"`` holds the answer
    once the copy is made (the client sees neither success nor failure); ``"fail"`` answers
    every copy 503 SlowDown at once."""

    def __init__(self, when: str) -> None:
        from moto.server import (  # type: ignore[attr-defined]
            DomainDispatcherApplication,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.when = when
        self.held = threading.Event()
        self.release = threading.Event()
        app = DomainDispatcherApplication(create_backend_app)

        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if "HTTP_X_AMZ_COPY_SOURCE" not in environ:
                return app(environ, start_response)
            if when == "fail":  # the store answers every copy "later" (retried, then given up)
                start_response("503 Service Unavailable", [("Content-Type", "application/xml")])
                return [SLOW_DOWN]
            if when == "before":  # the copy never reaches moto: the client is killed first
                self.held.set()
                self.release.wait(120)
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
            body = list(app(environ, start_response))
            self.held.set()
            self.release.wait(120)
            return body

        self.server = make_server("127.0.0.1", 0, gated, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.thread.join(timeout=30)


@pytest.fixture(params=["before", "after"])
def copy_gate(request: pytest.FixtureRequest) -> Iterator[CopyGate]:
    gate = CopyGate(request.param)
    yield gate
    gate.close()


def test_kill_9_during_the_archive_copy_then_the_next_run_archives_once_and_sends_nothing(
    s3_bucket: S3Bucket,
    copy_gate: CopyGate,
    tmp_path: Path,
    live_sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sb = live_sandbox
    drop = S3Drop(s3_bucket)
    write_mapping(tmp_path / "leads.yaml")
    content = _csv(lead(i) for i in range(20))
    drop.put("a.csv", content)
    args: list[str | Path] = ["inbox", drop.url, "--mapping", tmp_path / "leads.yaml"]
    args += ["--ledger", tmp_path / "l.db", "-q", *FAST]
    with monkeypatch.context() as m:
        m.setenv("AWS_ENDPOINT_URL", copy_gate.url)
        proc = spawn(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
    try:
        wait_until(copy_gate.held.is_set, "the archive copy reaching the store", proc=proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
        copy_gate.release.set()
    assert proc.returncode == -signal.SIGKILL
    assert _answered(sb) == 20
    left = [p for p in drop.files() if p.startswith("archive/processed/")]
    assert left == ([] if copy_gate.when == "before" else [left[0]]), left
    assert "a.csv" in drop.top(), "the inbox's copy went before the archive's was made"
    sent = sb.admin.stats()["total_requests"]

    again = _inbox(drop, tmp_path, sb)
    assert again.code == 0, again.stderr
    [rep] = again.json["files"]
    assert (rep["name"], rep["status"]) == ("a.csv", "done")
    assert "stopped before archiving" in rep["error"]
    assert sb.admin.stats()["total_requests"] == sent, "the file was imported again"
    files = drop.files()
    assert drop.top() == []
    [archived] = [p for p in _archived(files, "a.csv")]
    assert files[archived] == content
    assert rep["archived"] == drop.url + archived
    if copy_gate.when == "after":
        assert [archived] == left, "the copy the killed run made was not the one kept"

    last = _inbox(drop, tmp_path, sb)
    assert last.code == 0 and last.json["files"] == [], last.stdout
    assert drop.files() == files
    assert sb.admin.stats()["total_requests"] == sent


def test_an_sftp_inbox_refuses_an_unknown_host_key_and_moves_nothing(
    sftp: SFTPServerHandle, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    drop = SFTPDrop(sftp)
    write_mapping(tmp_path / "leads.yaml")
    drop.put("a.csv", _csv(lead(i) for i in range(3)))
    sftp.forget_host_key()
    res = _inbox(drop, tmp_path, live_sandbox)
    assert res.code != 0, res.stdout
    assert "--sftp-insecure-accept-host-key" in res.stderr or "known_hosts" in res.stderr
    assert live_sandbox.admin.stats()["total_requests"] == 0
    assert drop.top() == ["a.csv"]
    ok = _inbox(drop, tmp_path, live_sandbox, "--sftp-insecure-accept-host-key")
    assert ok.code == 0, ok.stderr
    assert [f["status"] for f in ok.json["files"]] == ["done"]
    assert drop.top() == []


def test_a_store_failing_during_the_archive_move_exits_3_and_the_next_run_archives_once(
    s3_bucket: S3Bucket, tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    drop = S3Drop(s3_bucket)
    write_mapping(tmp_path / "leads.yaml")
    drop.put("a.csv", _csv(lead(i) for i in range(10)))
    drop.put("b.csv", _csv(lead(i) for i in range(10, 15)))
    gate, receiver = CopyGate("fail"), Receiver()
    try:
        res = _inbox(drop, tmp_path, sb, "--webhook", receiver.url("/hook"),
                     env={"AWS_ENDPOINT_URL": gate.url})  # fmt: skip
        hooks = [r.json() for r in receiver.take() if r.path == "/hook"]
    finally:
        gate.close()
        receiver.close()
    assert res.code == 3, res.stderr
    assert res.json["error"]["code"] == "storage_unreachable", res.json
    files = {f["name"]: f for f in res.json["files"]}
    assert (files["a.csv"]["status"], files["a.csv"]["succeeded"]) == ("done", 10)
    assert files["a.csv"]["archived"] is None and "not archived" in files["a.csv"]["error"]
    assert (files["b.csv"]["status"], files["b.csv"]["error"]) == (
        "not_ready",
        "not started: store unreachable",
    )
    assert [(h["event"], h["exit_code"]) for h in hooks] == [("failure", 3)]
    assert drop.top() == ["a.csv", "b.csv"], "a file was moved half-way"
    assert [p for p in drop.files() if p.startswith("archive/")] == []
    sent = sb.admin.stats()["total_requests"]
    assert _answered(sb) == 10

    again = _inbox(drop, tmp_path, sb)
    assert again.code == 0, again.stderr
    assert [(f["name"], f["status"], f["requests"]) for f in again.json["files"]] == [
        ("a.csv", "done", 0),
        ("b.csv", "done", again.json["files"][1]["requests"]),
    ]
    assert _answered(sb) == 15, "a.csv was imported again"
    assert sb.admin.stats()["total_requests"] > sent
    assert drop.top() == []
    assert len(_archived(drop.files(), "a.csv")) == len(_archived(drop.files(), "b.csv")) == 1


@pytest.mark.parametrize(
    ("where", "extra", "says"),
    [
        ("local", ["--results", "out"], "--results is for a remote inbox"),
        ("s3", ["--archive", "s3://another-bucket/done/"], "same store"),
        ("s3", ["--archive", "done"], "same store"),
        ("sftp-password", [], "password"),
    ],
)
def test_flags_a_remote_inbox_cannot_use_are_refused_before_anything_is_read(
    tmp_path: Path, where: str, extra: list[str], says: str
) -> None:
    write_mapping(tmp_path / "leads.yaml")
    (tmp_path / "drop").mkdir()
    url = {
        "local": str(tmp_path / "drop"),
        "s3": "s3://some-bucket/drop/",
        "sftp-password": "sftp://vendor:hunter2-Secret@127.0.0.1:9/drop",
    }[where]
    res = syncer(
        "inbox", url, "--mapping", tmp_path / "leads.yaml", "--ledger", tmp_path / "l.db",
        "--json", "--dry-run", *extra, cwd=tmp_path,
    )  # fmt: skip
    assert res.code == 2, res.stderr
    assert res.json["error"]["code"] == "config", res.json
    assert says in res.stderr, res.stderr
    assert "hunter2" not in res.stdout + res.stderr
    assert not (tmp_path / "inbox-results").exists()
