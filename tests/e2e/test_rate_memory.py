"""Issue 15 goal 4: a run starts where the org left off. `syncer run` keeps the rate the org
accepted in the ledger (per org and endpoint) and the next run's pacer starts near it, seen in
``--json``'s ``pacing_start`` and the ``pacer_rate_changed`` events of ``--log-file`` (what
the pacer did, not wall-clock timing)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from syncer import events
from syncer.events import PacerRateChanged
from syncer.ledger import AcceptedRate, Ledger, key_fingerprint, now_iso, org_id
from syncer.reevo.client import check_base_url
from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, syncer
from .ledger_helpers import sandbox, write_leads, write_mapping

KEY = "sk-test-rate-memory-0123456789"
ENDPOINT = "POST account_contact"


def _run(tmp: Path, sb: SandboxHandle, source: Path, *extra: str | Path) -> CliResult:
    mapping = write_mapping(tmp / "leads.yaml")
    return syncer(
        "run", source, "--mapping", mapping, "--json", "-q", "--log-file", tmp / "log.jsonl",
        *extra,
        cwd=tmp, api_key=KEY, base_url=sb.base_url, env=private_env(tmp),
    )  # fmt: skip


def _rate_events(tmp: Path) -> list[PacerRateChanged]:
    """The pacer's rate changes of every run logged so far, in order."""
    out = []
    for line in (tmp / "log.jsonl").read_text(encoding="utf-8").splitlines():
        logged = events.read_line(line)
        if logged is not None and isinstance(logged.event, PacerRateChanged):
            out.append(logged.event)
    return out


def _remembered(tmp: Path, org: str | None = None) -> AcceptedRate | None:
    with Ledger(tmp / "ledger.db") as ledger:
        return ledger.accepted_rate(org or ledger.runs(1)[0].org, ENDPOINT)


def _seed(tmp: Path, sb: SandboxHandle, rate: float, *, org: str | None = None, key: str = KEY):
    """A ledger that remembers ``rate`` as the limit a 429 found for the org of ``key``."""
    url = check_base_url(sb.base_url)
    with Ledger(tmp / "ledger.db") as ledger:
        ledger.remember_rate(
            org or org_id(url, api_key=key),
            ENDPOINT,
            AcceptedRate(rate, True, 16.0, url, key_fingerprint(key), now_iso()),
        )


def _start(res: CliResult) -> dict[str, Any]:
    assert res.code == 0, res.stderr
    start: dict[str, Any] = res.json["pacing_start"]
    return start


def test_a_run_keeps_the_rate_the_org_accepted_and_the_next_starts_there(tmp_path: Path) -> None:
    with sandbox(api_key=KEY) as sb:
        # no 429 (--max-rate holds it at 30 req/s): a floor is kept, with the org and endpoint
        first = _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 75), "--max-rate", "30")
        assert _start(first)["source"] == "default" and _start(first)["rate"] == 10.0
        kept = _remembered(tmp_path)
        assert kept is not None and not kept.capped, kept
        assert 20.0 <= kept.rate <= 40.0, kept
        assert (kept.base_url, kept.key_fingerprint) == (sb.base_url, key_fingerprint(KEY))
        assert KEY.encode() not in (tmp_path / "ledger.db").read_bytes()
        # the next run (every row changed) climbs from that floor instead of from 10 req/s
        changed = write_leads(tmp_path / "b.csv", 75, dict.fromkeys(range(75), 1))
        second = _run(tmp_path, sb, changed)
    start = _start(second)
    assert start["source"] == "floor" and start["remembered_rate"] == round(kept.rate, 1)
    assert start["rate"] == round(kept.rate, 1)
    assert second.json["succeeded"] == 75
    assert any(
        n.startswith(f"started at {kept.rate:.0f} req/s: the ") for n in second.json["notes"]
    )
    resume = [e for e in _rate_events(tmp_path) if e.reason == "resume"]
    assert len(resume) == 1 and resume[0].old == 10.0
    assert resume[0].new == round(kept.rate, 3)


def test_a_429_still_cuts_a_remembered_limit_and_the_new_one_is_kept(tmp_path: Path) -> None:
    with sandbox(api_key=KEY, rate_limit=50) as sb:  # the org's limit fell from 200 to 50
        _seed(tmp_path, sb, 200.0)
        res = _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 60))
        stats = sb.admin.stats()
    start = _start(res)
    assert (start["rate"], start["source"], start["remembered_rate"]) == (180.0, "limit", 200.0)
    assert res.json["succeeded"] == 60 and res.json["throttled"] > 0
    assert stats["rate_limited"] == res.json["throttled"]
    reasons = [e.reason for e in _rate_events(tmp_path)]
    assert reasons[0] == "resume" and "cut" in reasons, reasons
    kept = _remembered(tmp_path)  # what this run found (a 429 capped it) replaced it
    assert kept is not None and kept.capped and kept.rate < 180.0, kept


def test_max_rate_caps_a_remembered_limit(tmp_path: Path) -> None:
    with sandbox(api_key=KEY) as sb:
        _seed(tmp_path, sb, 200.0)
        res = _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 20), "--max-rate", "15")
    start = _start(res)
    assert (start["rate"], start["source"]) == (15.0, "limit")
    assert any("--max-rate (below the 200 req/s" in n for n in res.json["notes"])
    assert all(e.new <= 15.0 for e in _rate_events(tmp_path))
    kept = _remembered(tmp_path)
    assert kept is not None and kept.rate == 200.0  # a floor under the cap keeps the limit


def test_a_rate_remembered_for_another_org_or_key_is_not_used(tmp_path: Path) -> None:
    with sandbox(api_key=KEY) as sb:
        url = check_base_url(sb.base_url)
        # remembered under the label "acme", measured with another key
        _seed(tmp_path, sb, 200.0, org=org_id(url, label="acme"), key="sk-another-key-42")
        own = _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 5))  # the key's own org
        labelled = _run(tmp_path, sb, write_leads(tmp_path / "b.csv", 5, {0: 1}), "--org", "acme")
        off = _run(tmp_path, sb, write_leads(tmp_path / "c.csv", 5, {0: 2}), "--no-rate-memory")
    assert _start(own) == {
        "rate": 10.0, "source": "default", "remembered_rate": None,
        "remembered_capped": None, "measured_at": None,
    }  # fmt: skip
    assert not any("req/s" in n for n in own.json["notes"])
    assert (_start(labelled)["rate"], _start(labelled)["source"]) == (10.0, "default")
    assert any("measured with another API key" in n for n in labelled.json["notes"])
    assert (_start(off)["rate"], _start(off)["source"]) == (10.0, "default")
    assert "resume" not in [e.reason for e in _rate_events(tmp_path)]


def test_an_aborted_run_keeps_its_measurement(tmp_path: Path) -> None:
    with sandbox(api_key=KEY, daily_quota=50) as sb:  # the quota stops it after ~1.7 s
        res = _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 90), "--max-rate", "30")
    assert res.code == 3 and res.json["abort_reason"] == "quota", res.stdout
    with Ledger(tmp_path / "ledger.db") as ledger:
        run = ledger.runs(1)[0]
        kept = ledger.accepted_rate(run.org, ENDPOINT)
    assert run.outcome == "aborted"
    assert kept is not None and not kept.capped and 20.0 <= kept.rate <= 40.0, kept


def test_a_ledger_written_before_the_table_opens_and_keeps_a_rate(tmp_path: Path) -> None:
    with sandbox(api_key=KEY) as sb:
        assert _run(tmp_path, sb, write_leads(tmp_path / "a.csv", 3)).code == 0
        db = sqlite3.connect(tmp_path / "ledger.db")
        db.execute("DROP TABLE IF EXISTS accepted_rates")  # as the previous syncer left it
        db.commit()
        db.close()
        res = _run(tmp_path, sb, write_leads(tmp_path / "b.csv", 60, {0: 1}), "--max-rate", "40")
    assert _start(res)["source"] == "default" and _start(res)["remembered_rate"] is None
    assert (res.json["succeeded"], res.json["unchanged"]) == (58, 2)
    kept = _remembered(tmp_path)
    assert kept is not None and not kept.capped, kept
