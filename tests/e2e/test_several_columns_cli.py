"""``column: [A, B]`` through the real CLI against the sandbox: HubSpot keeps a won deal's
reasons in "Closed Won Reason" and a lost one's in "Closed Lost Reason"; one ``closed_reasons``
entry reads both, and each deal reaches its closed stage with its reasons."""

from __future__ import annotations

from pathlib import Path

from syncer.sandbox import SandboxHandle

from .cli_helpers import private_env, read_results, syncer, write_csv

HEADER = ["Deal Name", "Company Domain", "Deal Stage", "Closed Won Reason", "Closed Lost Reason"]
ROWS = [
    ["Umbrella add-on", "umbrella-labs.io", "Closed Won", "Product fit; Relationship", ""],
    ["Nordwind pilot", "nordwind.example", "Closed Lost", "n/a", "Price"],  # n/a is blank
    ["Stark expansion", "starkfreight.com", "Qualified", "", ""],
    ["Globex renewal", "globex.io", "Closed Lost", "", " "],  # no reason in either column
]
MAPPING = """\
target: opportunities
columns:
  display_name: Deal Name
  account: {domain: Company Domain}
  stage: Deal Stage
  closed_reasons:
    column: [Closed Won Reason, Closed Lost Reason]
    split: ";"
on_missing_account: create
"""


def test_won_and_lost_reasons_from_their_own_columns_reach_the_closed_stages(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    source = write_csv(tmp_path / "deals.csv", HEADER, ROWS)
    mapping = tmp_path / "deals.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    res = syncer(
        "run",
        source,
        "--mapping",
        mapping,
        "--json",
        "--quiet",
        cwd=tmp_path,
        api_key=live_sandbox.api_key,
        base_url=live_sandbox.base_url,
        env=private_env(tmp_path),
    )
    assert res.code == 1, res.stdout + res.stderr  # one row is invalid
    assert (res.json["succeeded"], res.json["invalid"], res.json["failed"]) == (3, 1, 0)
    deals = {
        o["display_name"]: (o["stage_name"], o["closed_reason_names"] or [])
        for o in live_sandbox.admin.dump()["opportunities"]
    }
    assert deals == {
        "Umbrella add-on": ("Closed Won", ["Product fit", "Relationship"]),
        "Nordwind pilot": ("Closed Lost", ["Price"]),
        "Stark expansion": ("Qualified", []),
    }
    [bad] = [r for r in read_results(tmp_path / "deals.results.csv") if r["status"] == "invalid"]
    assert (bad["Deal Name"], bad["error_code"]) == ("Globex renewal", "missing_closed_reason")
    assert bad["error"].endswith("fill in Closed Won Reason or Closed Lost Reason (closed_reasons)")
