"""A run that fails before its plan (here: the mapping file is missing) exits with its error
and exit code 2, every time: the work it began in threads (the file read ahead, the TLS context,
the ledger's snapshot) is not left inside a native library while Python shuts down. A daemon
thread building the TLS context crashed ~1 run in 6 that way (exit -11, no message); 8 runs
catch that 3 times in 4."""

from __future__ import annotations

from pathlib import Path

from .robust_helpers import make_leads, spawn


def test_a_run_that_fails_early_exits_with_its_error_every_time(tmp_path: Path) -> None:
    leads = make_leads(tmp_path, 3)
    missing = tmp_path / "missing.yaml"
    for _ in range(4):  # two at a time: the crash raced the exit against the thread
        procs = [
            spawn("run", leads.path, "--mapping", missing, cwd=tmp_path, api_key="k" * 24)
            for _ in range(2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 2, f"exit {proc.returncode}: {err}"
            assert "mapping file" in err and "not found" in err
