"""Issue 9, row 12: with ``--json`` every exit ends with exactly one JSON object.

Whatever way a command ends (0, 1, 2 usage/mapping/input/settings, 3 stopped by Reevo,
70 a bug, 130 Ctrl-C, 143 SIGTERM), the last stdout line is one JSON object with
``command``, ``exit_code`` (the real one) and ``error`` (``{"code", "message", "hint"}``, or
null when the command ran to its end), and no other stdout line is JSON. Driven through the
real CLI in a subprocess (the internal-error case in-process, to plant the bug).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wait_helpers import wait_until

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, cli_env, private_env, syncer, terminal_signals, write_csv
from .robust_helpers import invoke

MAPPING = "columns:\n  email: Email\n  first_name: First Name\n"


def _env(tmp_path: Path) -> dict[str, str]:
    """State (ledger, sandbox data) under tmp_path, never in the user's home."""
    return private_env(tmp_path)


def _one_json(res: CliResult) -> dict[str, Any]:
    """The single JSON object on stdout: the last line, the only JSON line, the real exit code,
    and an ``error`` object exactly when the command did not run to its end."""
    objects = []
    for line in res.stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    assert len(objects) == 1, f"want one JSON object on stdout, got:\n{res.stdout}\n{res.stderr}"
    out = res.json  # the last non-blank stdout line
    assert out == objects[0], res.stdout
    assert "command" in out and out["exit_code"] == res.code, (out, res.stderr)
    error = out["error"]
    if res.code in (0, 1):
        assert error is None, out
    else:
        assert set(error) == {"code", "message", "hint"}, error
        assert all(isinstance(v, str) and v.strip() for v in error.values()), error
    return out


@pytest.fixture
def files(tmp_path: Path) -> Path:
    write_csv(tmp_path / "leads.csv", ["Email", "First Name"], [["a@x.org", "A"], ["b@x.org", "B"]])
    write_csv(tmp_path / "mixed.csv", ["Email", "First Name"], [["a@x.org", "A"], ["bad", "B"]])
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text("columns:\n  emial: Email\n", encoding="utf-8")
    return tmp_path


#: (args, exit code, command, error code or None): no network needed
OFFLINE = [
    (["validate", "leads.csv", "--mapping", "map.yaml"], 0, "validate", None),
    (["validate", "mixed.csv", "--mapping", "map.yaml"], 1, "validate", None),
    (["validate", "nope.csv", "--mapping", "map.yaml"], 2, "validate", "source"),
    (["validate", "leads.csv"], 2, "validate", "usage"),  # missing --mapping
    (["validate", "leads.csv", "--mapping", "map.yaml", "--frobnicate"], 2, "validate", "usage"),
    (["validate", "leads.csv", "--mapping", "typo.yaml"], 2, "validate", "mapping"),
    (["run", "leads.csv", "--mapping", "map.yaml"], 2, "run", "config"),  # no API key
    (["run", "nope.csv", "--mapping", "map.yaml", "--concurrency", "0"], 2, "run", "usage"),
    (["retry", "nope.results.csv", "--mapping", "map.yaml"], 2, "retry", "source"),
    (["check", "--mapping", "map.yaml"], 2, "check", "config"),  # no API key
    (["runs"], 0, "runs", None),
    (["runs", "--limit", "0"], 2, "runs", "usage"),
    (["runs", "show", "7"], 2, "runs show", "config"),
    (["no-such-command"], 2, None, "usage"),
]


@pytest.mark.parametrize(
    ("args", "code", "command", "error"), OFFLINE, ids=[" ".join(c[0]) for c in OFFLINE]
)
def test_every_exit_ends_with_one_json_object(
    files: Path, args: list[str], code: int, command: str | None, error: str | None
) -> None:
    res = syncer(*args, "--json", cwd=files, env=_env(files))
    assert res.code == code, (res.stdout, res.stderr)
    out = _one_json(res)
    assert out["command"] == command
    if error is None:
        return
    assert out["error"]["code"] == error
    if error != "usage":  # the stderr line and the JSON message say the same
        assert f"error: {out['error']['message']}" in res.stderr
    if command == "check":
        assert out["ok"] is False  # check keeps its own keys


def test_summaries_carry_command_and_exit_code(files: Path) -> None:
    res = syncer("validate", "mixed.csv", "--mapping", "map.yaml", "--json", cwd=files)
    out = _one_json(res)
    assert (out["command"], out["exit_code"], out["invalid"], out["ready"]) == ("validate", 1, 1, 1)


def test_a_run_ok_and_a_run_stopped_by_reevo(files: Path, live_sandbox: SandboxHandle) -> None:
    env = _env(files)
    key, url = live_sandbox.api_key, live_sandbox.base_url
    ok = syncer("run", "leads.csv", "--mapping", "map.yaml", "--json", cwd=files, api_key=key,
                base_url=url, env=env)  # fmt: skip
    out = _one_json(ok)
    assert (ok.code, out["command"], out["succeeded"]) == (0, "run", 2), ok.stderr

    # stopped mid-run (a summary, no exception): the circuit breaker is the error
    rows = [[f"p{i}@x.org", f"P{i}"] for i in range(30)]
    write_csv(files / "many.csv", ["Email", "First Name"], rows)
    (files / "bad_field.yaml").write_text(
        MAPPING + "contact_custom_fields:\n  No_Such_Field: First Name\n", encoding="utf-8"
    )
    args = ["many.csv", "--mapping", "bad_field.yaml", "--breaker", "3", "--concurrency", "1"]
    stopped = syncer("run", *args, "--json", cwd=files, api_key=key, base_url=url, env=env)
    out = _one_json(stopped)
    assert stopped.code == 3, stopped.stderr
    assert out["error"]["code"] == "circuit_breaker" == out["abort_reason"]
    assert out["error"]["message"] == out["aborted"]
    assert "syncer retry" in out["error"]["hint"]
    assert out["not_attempted"] > 0  # the summary's own keys are still there


def test_refused_keys_exit_3_with_their_code(files: Path, live_sandbox: SandboxHandle) -> None:
    env, url = _env(files), live_sandbox.base_url
    expired = live_sandbox.admin.create_key(expired=True)
    for command, key, code in (("run", "not-a-key-at-all", "auth"), ("check", expired, "expired")):
        res = syncer(command, "leads.csv", "--mapping", "map.yaml", "--json", cwd=files,
                     api_key=key, base_url=url, env=env)  # fmt: skip
        out = _one_json(res)
        assert (res.code, out["command"], out["error"]["code"]) == (3, command, code)
        assert out.get("ok", False) is False  # check keeps its own keys


def test_the_key_never_appears_in_the_error(files: Path) -> None:
    key = "sk-live-0123456789abcdef"
    res = syncer("run", "leads.csv", "--mapping", "map.yaml", "--base-url", f"ftp://h/{key}",
                 "--json", cwd=files, api_key=key, env=_env(files))  # fmt: skip
    out = _one_json(res)
    assert (res.code, out["error"]["code"]) == (2, "config")
    assert "ftp://h/***" in out["error"]["message"]
    assert key not in res.stdout and key not in res.stderr


def test_a_bug_exits_70_with_an_internal_error(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-live-0123456789abcdef"

    def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError(f"planted bug near {key}")

    monkeypatch.setattr("syncer.runner.prepared.validate", broken)
    monkeypatch.chdir(files)
    res = invoke("validate", "leads.csv", "--mapping", "map.yaml", "--json", api_key=key)
    out = _one_json(res)
    assert (res.code, out["command"], out["error"]["code"]) == (70, "validate", "internal")
    assert "RuntimeError: planted bug near ***" in out["error"]["message"]
    assert "--debug" in out["error"]["hint"]
    assert key not in res.stdout and key not in res.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_exits_with_an_interrupted_error(
    files: Path, sig: signal.Signals, code: int
) -> None:
    # the mapping is a FIFO: validate blocks reading it until we write, so the signal is sure
    # to land while the command runs (no timing guess)
    fifo = files / "slow.yaml"
    os.mkfifo(fifo)
    # faulthandler: a child still running at the deadline is sent SIGABRT, which prints where
    # each of its threads is (seen once in CI: the signal did not end the command)
    env = cli_env(None, None) | _env(files) | {"PYTHONFAULTHANDLER": "1"}
    terminal_signals()  # the child inherits ignored/blocked signals: none, as from a shell
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "validate", "leads.csv", "--mapping", fifo, "--json"],
        cwd=files,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        writer = wait_until(lambda: _open_writer(fifo), "validate opened the mapping", proc=proc)
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler: every thread's stack to stderr
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"validate did not end within 60 s of {sig.name}:\n{err}")
        os.close(writer)
    finally:
        if proc.poll() is None:
            proc.kill()
    res = CliResult(proc.returncode, out, err)
    assert res.code == code, (out, err)
    body = _one_json(res)
    assert (body["command"], body["error"]["code"]) == ("validate", "interrupted")
    assert "Traceback" not in err
    signal_name = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert f"interrupted: `syncer validate` was stopped by {signal_name}" in err, err


def _open_writer(fifo: Path) -> int | None:
    """A write end of ``fifo`` once a reader has it open (None before: ENXIO)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None
