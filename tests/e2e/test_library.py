"""The library API (`syncer.sync`) as Airflow or Dagster would call it, against the sandbox."""

from __future__ import annotations

from pathlib import Path

import syncer
from syncer.sandbox import SandboxHandle

from .cli_helpers import write_csv

MAPPING = "columns:\n  email: Email\n  first_name: First Name\n"


def test_sync_without_a_ledger_sends_every_ready_row_each_time(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    write_csv(tmp_path / "leads.csv", ["Email", "First Name"], [["a@x.org", "A"], ["b@x.org", "B"]])
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    settings = syncer.Settings(
        base_url=live_sandbox.base_url, api_key=live_sandbox.api_key, ledger=None, preflight=False
    )
    for _ in range(2):  # no memory of the first run: the second sends the same rows again
        summary = syncer.sync(tmp_path / "leads.csv", tmp_path / "map.yaml", settings)
        assert summary.counts["succeeded"] == 2 and summary.counts["unchanged"] == 0
        assert summary.requests == 2 and summary.exit_code == 0 and summary.run_id is None
    assert not (tmp_path / ".syncer").exists()
