"""Issue 15 goal 1: the plan that builds and hashes bodies in polars and reads the ledger in one
query must decide and report exactly what the code before it did.

The fixture (tests/data/ledgers/rerun, written by ``make_rerun.py`` with the code before that
change) holds a ledger after a first run and the results files that code wrote. The same
inputs through today's CLI must give: every row unchanged and no request on the old ledger;
the same results files byte for byte (the ids Reevo gave rows sent in the run itself are
random in the sandbox: masked).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from syncer import RunSummary, Settings, sync

from .ledger_helpers import ENDPOINT, endpoint_requests, sandbox

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "rerun"
ORG = "rerun-fixture"  # the org make_rerun.py recorded
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _masked(data: bytes) -> bytes:
    return UUID.sub(b"<id>", data)


def _run(tmp_path: Path, source: str, ledger: Path | None) -> tuple[RunSummary, int, Path]:
    """A run of a fixture file on ``ledger`` (copied; None: a new one), as make_rerun.py ran
    it (the exact org it recorded): its summary, the account_contact requests the sandbox
    saw, the results file."""
    for name in (source, "leads.yaml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    db = tmp_path / "ledger.db"
    if ledger is not None:
        shutil.copy(ledger, db)
    results = tmp_path / "out.results.csv"
    with sandbox() as sb:
        settings = Settings(
            base_url=sb.base_url, api_key=sb.api_key, ledger=db, org=ORG, results=results
        )
        summary = sync(tmp_path / source, tmp_path / "leads.yaml", settings)
        sent = endpoint_requests(sb, ENDPOINT)
    return summary, sent, results


def test_old_ledger_every_row_unchanged_no_request(tmp_path: Path) -> None:
    summary, sent, results = _run(tmp_path, "leads.csv", FIXTURE / "rerun.db")
    assert (summary.counts["unchanged"], summary.counts["succeeded"], sent) == (74, 0, 0)
    assert summary.requests == 0
    assert results.read_bytes() == (FIXTURE / "same.results.csv").read_bytes()


def test_old_ledger_changed_rows_only_are_sent(tmp_path: Path) -> None:
    summary, sent, results = _run(tmp_path, "leads-changed.csv", FIXTURE / "rerun.db")
    # 5 titles changed, a value blanked (sent as ""), 2 new rows; + preflight's probe
    assert (summary.counts["unchanged"], summary.counts["succeeded"], sent) == (68, 8, 8 + 1)
    want = (FIXTURE / "changed.results.csv").read_bytes()
    assert _masked(results.read_bytes()) == _masked(want)


@pytest.mark.parametrize("source", ["leads.csv"])
def test_first_run_results_as_before(tmp_path: Path, source: str) -> None:
    summary, sent, results = _run(tmp_path, source, None)
    assert (summary.counts["succeeded"], sent) == (74, 74 + 1)
    want = (FIXTURE / "first.results.csv").read_bytes()
    assert _masked(results.read_bytes()) == _masked(want)
    failures = results.with_name("out.failures.csv")
    assert failures.read_bytes() == (FIXTURE / "first.failures.csv").read_bytes()
