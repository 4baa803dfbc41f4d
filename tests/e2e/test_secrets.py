"""The API key never leaves the process: not in output, --debug tracebacks, files or the ledger.

The whole CLI surface runs in subprocesses (the real entry point, as a scheduler runs it) with a
recognisable key; then every byte it printed or wrote is searched for the key and for any
12-character piece of it. Also: a plain-http base URL that is not loopback is refused before
any connection is made.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from http_receiver import Receiver, closed_port
from remote_servers import AWS_KEY_ID, AWS_SECRET, S3Bucket, SFTPServerHandle
from wait_helpers import wait_until

from syncer.sandbox import SandboxHandle

from .robust_helpers import Result, invoke, make_leads, results_rows, spawn, write_mapping

pytestmark = pytest.mark.timeout(300)  # a hang guard: the first test took 62 s on a busy machine

KEY = "rv_canary_S3CRET_7f3a9b2c4d5e6f7081"
FILE_KEY = "rv_canary_FILEKEY_0a1b2c3d4e5f6a7b8c"
#: a secret in --storage-options, and an SSH key's passphrase (the remote inbox test)
STORE_SECRET = "store-canary-Sx9Qw2Ez7Rt4Yu1I"
PASSPHRASE = "ssh-canary-Pk3Lm8Nb5Vc0Xz6A"


def pieces(secret: str, width: int = 12) -> set[str]:
    return {secret[i : i + width] for i in range(len(secret) - width + 1)}


def assert_clean(blob: str | bytes, where: str) -> None:
    data = blob if isinstance(blob, bytes) else blob.encode("utf-8", "replace")
    for secret in (KEY, FILE_KEY):
        for piece in pieces(secret):
            assert piece.encode() not in data, f"a piece of the key leaked into {where}"


def add_key(sb: SandboxHandle, key: str, expired: bool = False) -> None:
    body = {"api_key": key, "permissions": "all", "expired": expired}
    httpx.post(sb.admin_url + "/keys", json=body, timeout=10).raise_for_status()


def cli(
    work: Path, *args: str | Path, base_url: str | None = None, key: str | None = KEY
) -> Result:
    proc = spawn(*args, cwd=work, api_key=key, base_url=base_url)
    out, err = proc.communicate(timeout=60)
    return Result(proc.returncode, out, err)


def test_no_output_file_or_ledger_holds_the_key(
    live_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = live_sandbox
    home = tmp_path / "home"  # the per-user folder (default ledger): searched with the rest
    monkeypatch.setenv("SYNCER_HOME", str(home))
    add_key(sb, KEY)
    add_key(sb, FILE_KEY, expired=True)
    key_file = tmp_path / "key.txt"
    key_file.write_text(FILE_KEY + "\n", encoding="utf-8")
    leads = make_leads(tmp_path, 80)
    mapping = write_mapping(tmp_path)
    url = sb.base_url
    outputs: list[tuple[str, Result]] = []

    def record(name: str, res: Result, *codes: int) -> Result:
        outputs.append((name, res))
        assert res.code in codes, f"{name}: exit {res.code}\n{res.stderr}"
        return res

    record("validate", cli(tmp_path, "validate", leads.path, "--mapping", mapping), 1)
    record("check", cli(tmp_path, "check", "--mapping", mapping, base_url=url), 0)

    # a run that stops on the daily quota, with the ledger's -wal/-shm files read mid-run (the
    # latency keeps the ledger open for over a second: 40 requests, 16 at a time, 300 ms each)
    sb.admin.set_faults(daily_quota=40, latency_ms=300, reset_rate=0.1)
    proc = spawn("--debug", "run", leads.path, "--mapping", mapping, "--json",
                 cwd=tmp_path, api_key=KEY, base_url=url)  # fmt: skip
    seen_wal = False

    def read_wal_until_the_run_ends() -> bool:
        nonlocal seen_wal
        for side in home.glob("ledger.db-*"):
            try:
                assert_clean(side.read_bytes(), side.name)
                seen_wal = True
            except FileNotFoundError:
                pass
        return proc.poll() is not None

    wait_until(read_wal_until_the_run_ends, "the run to stop on the quota", timeout=60)
    out, err = proc.communicate(timeout=30)
    record("run --debug (quota, resets)", Result(proc.returncode, out, err), 3)
    assert seen_wal, "the ledger's WAL files were never seen during the run"
    assert any(r["status"] == "not_attempted" for r in results_rows(tmp_path / "leads.results.csv"))

    sb.admin.set_faults(daily_quota=None, latency_ms=0, reset_rate=0.0)
    retry = cli(tmp_path, "retry", tmp_path / "leads.results.csv", "--json", base_url=url)
    record("retry", retry, 0)

    # expired key from a key file: preflight stops it; --debug shows a traceback, key masked
    expired = cli(tmp_path, "--debug", "run", leads.path, "--mapping", mapping, "--full",
                  "--api-key-file", key_file, base_url=url, key=None)  # fmt: skip
    record("run --api-key-file (expired)", expired, 3)
    check = cli(tmp_path, "--debug", "check", "--mapping", mapping, "--api-key-file", key_file,
                base_url=url, key=None)  # fmt: skip
    record("check --debug (expired key file)", check, 3)
    assert "Traceback" in check.stderr and "expired" in check.stderr
    # a bad base URL (ConfigError) and an unreachable one (failing request), with --debug
    bad = cli(tmp_path, "--debug", "run", leads.path, "--mapping", mapping,
              "--base-url", "http://10.255.255.1")  # fmt: skip
    record("run --debug (non-https base URL)", bad, 2)
    assert "Traceback" in bad.stderr
    down = cli(tmp_path, "--debug", "check", "--mapping", mapping,
               "--base-url", "http://127.0.0.1:9")  # fmt: skip
    record("check --debug (nothing listening)", down, 3)
    assert "Traceback" in down.stderr
    record("runs", cli(tmp_path, "runs", "--json"), 0)
    for run_id in range(1, 4):
        record(f"runs show {run_id}", cli(tmp_path, "runs", "show", str(run_id), "--json"), 0)

    for name, res in outputs:
        assert_clean(res.stdout, f"stdout of {name}")
        assert_clean(res.stderr, f"stderr of {name}")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert any(p.name == "ledger.db" for p in written)
    assert any(p.name.endswith(".retry.results.csv") for p in written)
    for path in written:
        assert_clean(path.read_bytes(), str(path.relative_to(tmp_path)))


@pytest.mark.parametrize("odd", ["\u00e9", "\n", "\x07"])
def test_a_key_http_cannot_carry_is_a_clear_error(tmp_path: Path, odd: str) -> None:
    """A key with a character HTTP headers cannot carry would fail deep inside httpx (and its
    error could echo the header): it is refused up front, without showing the key."""
    mapping = write_mapping(tmp_path)
    for debug in ((), ("--debug",)):
        res = invoke(*debug, "check", "--mapping", mapping, api_key=KEY[:20] + odd + KEY[20:],
                     base_url="http://127.0.0.1:9")  # fmt: skip
        assert res.code == 2, res.stderr
        assert "copy it again" in res.stderr
        assert_clean(res.stdout + res.stderr, "output")


def test_debug_traceback_and_message_mask_the_key(tmp_path: Path) -> None:
    """Whatever text holds the key (here a path the user named after it), both the error line
    and the --debug traceback show it masked; the env key and the key file's key alike."""
    leads = make_leads(tmp_path, 3)
    key_file = tmp_path / "key.txt"
    key_file.write_text(FILE_KEY, encoding="utf-8")
    for secret, key_args in ((KEY, ()), (FILE_KEY, ("--api-key-file", key_file))):
        missing = tmp_path / f"{secret}.yaml"
        for debug in ((), ("--debug",)):
            res = cli(tmp_path, *debug, "run", leads.path, "--mapping", missing, *key_args,
                      key=KEY if not key_args else None)  # fmt: skip
            assert res.code == 2, res.stderr
            assert "***.yaml" in res.stderr
            assert ("Traceback" in res.stderr) == bool(debug)
            assert_clean(res.stdout + res.stderr, "output")


@pytest.mark.parametrize(
    ("command", "url"),
    [
        ("run", "http://10.255.255.1"),
        ("run", "http://reevo.example.com:8080"),
        ("run", "ftp://127.0.0.1"),
        ("retry", "http://10.255.255.1"),
        ("check", "http://10.255.255.1"),
    ],
)
def test_plain_http_base_url_is_refused_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    leads = make_leads(tmp_path, 3)
    mapping = write_mapping(tmp_path)
    args: list[str | Path] = {
        "run": ["run", leads.path, "--mapping", mapping],
        "retry": ["retry", leads.path, "--mapping", mapping],
        "check": ["check", "--mapping", mapping],
    }[command]
    started = time.monotonic()
    res = invoke(*args, "--base-url", url, api_key=KEY)  # 10.255.255.1 would hang a connect
    assert res.code == 2, res.stderr
    assert time.monotonic() - started < 10
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "https" in lines[0], lines
    assert_clean(res.stdout + res.stderr, "output")
    assert not (tmp_path / "leads.results.csv").exists()  # stopped before doing anything


def test_a_remote_inbox_shows_no_store_secret_anywhere(
    live_sandbox: SandboxHandle,
    s3_bucket: S3Bucket,
    sftp: SFTPServerHandle,
    tmp_path: Path,
) -> None:
    """``syncer inbox`` on S3 and SFTP (issue 16): the AWS secret of the environment, a secret
    in --storage-options and an SSH key's passphrase appear in no output, log, ledger, results
    file (local or uploaded), note, report, alert or webhook, also with --debug and with the
    store unreachable."""
    import asyncssh

    sb = live_sandbox
    add_key(sb, KEY)
    canaries = (AWS_SECRET, STORE_SECRET, PASSPHRASE)
    mapping = write_mapping(tmp_path)
    good = make_leads(tmp_path, 12, name="good.csv").path.read_bytes()
    s3_bucket.put("drop/good.csv", good)
    s3_bucket.put("drop/bad.csv", bytes(range(256)) * 64)  # binary: failed, with a note
    (sftp.root / "drop").mkdir()
    make_leads(sftp.root / "drop", 9, name="good.csv", tag="sftp")  # new content: partial
    # the SFTP login key, encrypted with a passphrase the options file gives
    locked = tmp_path / "locked_key"
    key = asyncssh.read_private_key(sftp.home / ".ssh" / "id_ed25519")
    key.write_private_key(locked, "pkcs8-pem", passphrase=PASSPHRASE)  # no bcrypt needed
    for name in ("id_ed25519", "id_ed25519.pub"):
        (sftp.home / ".ssh" / name).unlink()
    s3_options = tmp_path / "s3.yaml"
    s3_options.write_text(f"key: {AWS_KEY_ID}\nsecret: {STORE_SECRET}\n", encoding="utf-8")
    down_options = tmp_path / "down.json"
    down_options.write_text(
        json.dumps(
            {
                "secret": STORE_SECRET,
                "key": AWS_KEY_ID,
                "endpoint_url": f"http://127.0.0.1:{closed_port()}",
            }
        ),
        encoding="utf-8",
    )
    ssh_options = tmp_path / "ssh.yaml"
    ssh_options.write_text(f"client_keys: [{locked}]\npassphrase: {PASSPHRASE}\n", encoding="utf-8")
    receiver = Receiver()
    alerting = ["--webhook", receiver.url("/hook"), "--notify", receiver.url("/notify", "json")]
    common = ["--mapping", mapping, "--ledger", tmp_path / "l.db", "--json", "--min-age", "0",
              "--settle", "0", "--notify-on", "always", "-v", "--log-file", tmp_path / "log.txt",
              *alerting]  # fmt: skip
    outputs: list[tuple[str, Result]] = []
    try:
        for name, args, code in (
            ("s3", [s3_bucket.url("drop/"), "--storage-options", s3_options], 2),
            ("s3 down", [s3_bucket.url("drop/"), "--storage-options", down_options], 3),
            ("sftp", [sftp.url("drop"), "--storage-options", ssh_options], 1),
        ):
            res = cli(tmp_path, "--debug", "inbox", *args, *common, base_url=sb.base_url)
            assert res.code == code, f"{name}: exit {res.code}\n{res.stderr}"
            outputs.append((name, res))
        outputs.append(("runs", cli(tmp_path, "runs", "--ledger", tmp_path / "l.db", "--json")))
        got = receiver.take()
    finally:
        receiver.close()
    assert [r.path for r in got].count("/hook") == 3, [r.path for r in got]
    assert sftp.logins, "the SFTP run did not log in with the locked key"

    def clean(blob: str | bytes, where: str) -> None:
        data = blob if isinstance(blob, bytes) else blob.encode("utf-8", "replace")
        for secret in canaries:
            for piece in pieces(secret.rpartition("-")[2], 10):
                assert piece.encode() not in data, f"a store secret leaked into {where}"

    for name, res in outputs:
        clean(res.stdout, f"stdout of {name}")
        clean(res.stderr, f"stderr of {name}")
    for r in got:
        clean(r.body + str(r.headers).encode(), f"the alert {r.path}")
    options = {s3_options, down_options, ssh_options, locked}
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p not in options]
    assert any(p.name == "l.db" for p in written) and any(p.name == "log.txt" for p in written)
    assert any(p.name.endswith(".error.txt") for p in written), "no note was written"
    for path in written:
        clean(path.read_bytes(), str(path.relative_to(tmp_path)))
    uploaded = s3_bucket.keys("drop/archive/")
    assert any(k.endswith(".results.csv") for k in uploaded), uploaded
    for k in uploaded:
        clean(s3_bucket.get(k), k)


def test_a_remote_source_shows_no_store_secret_anywhere(
    live_sandbox: SandboxHandle, s3_bucket, sftp, tmp_path: Path
) -> None:  # s3_bucket, sftp: tests/remote_servers.py's S3Bucket, SFTPServerHandle
    """``syncer run / validate / init`` of an s3:// or sftp:// SOURCE (issue 16): the AWS secret
    of the environment, the secret of a --storage-options file and a password given in a URL
    appear in no output (--debug tracebacks too, store missing or unreachable), results file,
    mapping, report or ledger."""
    import os
    import shutil

    from http_receiver import closed_port
    from remote_servers import AWS_SECRET

    store_secret = "st0re_canary_SECRET_9d8c7b6a5f4e3d2c"
    url_password = "url_canary_PASSWORD_1a2b3c4d5e6f7a8b"
    add_key(live_sandbox, KEY)
    work = tmp_path / "work"  # the remote SOURCEs' results, mapping, ledger: searched
    work.mkdir()
    mapping = write_mapping(tmp_path)
    leads = make_leads(tmp_path, 12).path
    s3_url = s3_bucket.put("drop/leads.csv", leads)
    shutil.copyfile(leads, sftp.root / "leads.csv")
    options = tmp_path / "s3.yaml"
    options.write_text(f"key: AKIAFROMTHEFILE\nsecret: {store_secret}\n", encoding="utf-8")
    ledger = ("--ledger", work / "ledger.db")
    runs = [
        ("run s3", ["run", s3_url, "--mapping", mapping, "--storage-options", options, *ledger,
                    "--json"], (0, 1)),
        ("run sftp", ["run", sftp.url("leads.csv"), "--mapping", mapping, *ledger], (0, 1)),
        ("init s3", ["init", s3_url, "--storage-options", options, "-o", work / "m.yaml"], (0, 1)),
        ("validate missing", ["--debug", "validate", s3_bucket.url("nope.csv"), "--mapping",
                              mapping, "--storage-options", options], (2,)),
        ("password in URL", ["--debug", "validate", f"sftp://syncer:{url_password}@127.0.0.1:"
                             f"{sftp.port}/leads.csv", "--mapping", mapping, "--json"], (2,)),
        ("runs", ["runs", *ledger, "--json"], (0,)),
    ]  # fmt: skip
    outputs: list[tuple[str, Result]] = []
    for name, args, codes in runs:
        res = cli(work, *args, base_url=live_sandbox.base_url)
        assert res.code in codes, f"{name}: exit {res.code}\n{res.stderr}"
        outputs.append((name, res))
    assert "Traceback" in outputs[3][1].stderr
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    try:
        down = cli(work, "--debug", "validate", s3_url, "--mapping", mapping)
    finally:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    assert down.code == 3 and "Traceback" in down.stderr, down.stderr
    outputs.append(("validate unreachable", down))

    def clean(blob: str | bytes, where: str) -> None:
        data = blob if isinstance(blob, bytes) else blob.encode("utf-8", "replace")
        for secret in (AWS_SECRET, store_secret, url_password):
            for piece in pieces(secret.rpartition("-")[2], 10):
                assert piece.encode() not in data, f"a store secret leaked into {where}"

    for name, res in outputs:
        clean(res.stdout + res.stderr, f"the output of {name}")
    written = [p for p in work.rglob("*") if p.is_file()]
    assert {"leads.results.csv", "m.yaml", "ledger.db"} <= {p.name for p in written}
    for path in written:
        clean(path.read_bytes(), str(path.relative_to(tmp_path)))
