"""Deals through the CLI: a wrong stage name (Reevo's pipelines and stages cannot be listed,
so it shows only when the moves fail) stops the run at the breaker, naming the stage: entry;
--dry-run and retry work for deals."""

from __future__ import annotations

from pathlib import Path

from syncer.sandbox import SandboxHandle

from .cli_helpers import read_results, syncer, write_csv

MAPPING = """\
target: opportunities
key: {column: Deal ID}
columns:
  display_name: Deal
  account: {domain: Domain}
  stage:
    column: Stage
    values: {negotiation: Negotiating}
"""


def _deals(folder: Path, n: int, stage: str) -> Path:
    rows = [[f"D{i}", f"Deal {i}", "acme.com", stage] for i in range(n)]
    return write_csv(folder / "deals.csv", ["Deal ID", "Deal", "Domain", "Stage"], rows)


def _run(folder: Path, sb: SandboxHandle, *args: str | Path) -> tuple[int, str, dict]:
    res = syncer(
        *args, "--json", "-q", "--ledger", folder / "ledger.db", "--concurrency", "2",
        cwd=folder, api_key=sb.api_key, base_url=sb.base_url,
    )  # fmt: skip
    return res.code, res.stderr, res.json


def test_a_stage_every_move_fails_on_stops_at_the_breaker_naming_the_stage_entry(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    (tmp_path / "deals.yaml").write_text(MAPPING, encoding="utf-8")
    source = _deals(tmp_path, 40, "negotiation")  # no stage "Negotiating" in the pipeline
    code, err, out = _run(tmp_path, live_sandbox, "run", source, "--mapping", "deals.yaml")
    assert code == 3, err
    assert out["abort_reason"] == "circuit_breaker"
    assert "columns.stage (line 6)" in err, err
    rows = read_results(tmp_path / "deals.results.csv")
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) >= 25 and {r["error_code"] for r in failed} == {"stage_not_set"}
    # each failed deal was saved: its id is kept, so a re-run only retries the move
    assert all(r["reevo_opportunity_id"] for r in failed)
    assert {r["status"] for r in rows} <= {"failed", "not_attempted"}


def _accepted(sb: SandboxHandle) -> dict[str, int]:
    """Requests answered 2xx by route (preflight's probes are refused with 422)."""
    by: dict[str, dict[str, int]] = sb.admin.stats()["by_route_status"]
    return {r: sum(n for st, n in a.items() if st.startswith("2")) for r, a in by.items()}


def test_dry_run_then_run_then_retry_of_deals(tmp_path: Path, live_sandbox: SandboxHandle) -> None:
    (tmp_path / "deals.yaml").write_text(MAPPING, encoding="utf-8")
    source = _deals(tmp_path, 6, "Qualified")
    code, err, out = _run(tmp_path, live_sandbox, "run", source, "--mapping", "deals.yaml",
                          "--dry-run")  # fmt: skip
    assert (code, out["ready"], out["requests"]) == (0, 6, 0), err
    assert live_sandbox.admin.dump()["opportunities"] == []
    # a run where the moves of two deals fail (the sandbox refuses them), then a retry of the
    # results file once the stage exists in the file: only the failed moves are sent
    text = source.read_text(encoding="utf-8")
    for i in (4, 5):
        text = text.replace(f"D{i},Deal {i},acme.com,Qualified", f"D{i},Deal {i},acme.com,Nope")
    source.write_text(text, encoding="utf-8")
    code, err, out = _run(tmp_path, live_sandbox, "run", source, "--mapping", "deals.yaml")
    assert (code, out["succeeded"], out["failed"]) == (1, 4, 2), err
    failures = tmp_path / "deals.failures.csv"
    failures.write_text(failures.read_text(encoding="utf-8").replace(",Nope,", ",Qualified,"))
    before = _accepted(live_sandbox)
    code, err, out = _run(tmp_path, live_sandbox, "retry", failures, "--mapping", "deals.yaml")
    assert (code, out["succeeded"]) == (0, 2), err
    after = _accepted(live_sandbox)
    sent = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    # the account's lookup (acme.com was not imported by syncer) and the two moves, no create
    assert sent == {
        "POST accounts/search": 1, "POST opportunities/{opportunity_id}/shift_stage": 2,
    }, sent  # fmt: skip
    deals = live_sandbox.admin.dump()["opportunities"]
    assert sorted(d["display_name"] for d in deals) == [f"Deal {i}" for i in range(6)]
    assert {d["stage_name"] for d in deals} == {"Qualified"}
