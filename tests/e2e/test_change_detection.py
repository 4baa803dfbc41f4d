"""Acceptance (issue 5): only changed rows are sent; ``--full`` sends all; ``--org`` keeps history.

Request counts come from two independent places: the CLI's ``--json`` ``requests`` and the
sandbox's own stats. Preflight costs exactly one account_contact request (an empty body the
sandbox refuses with 422 after checking key and permissions); the test mapping names no owner,
so there is no users/search request.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, syncer
from .ledger_helpers import ENDPOINT, contacts, sandbox, write_leads, write_mapping

PREFLIGHT = 1  # account_contact requests preflight makes (status 422, nothing written)


def _by_status(sb: SandboxHandle) -> dict[str, int]:
    out: dict[str, int] = sb.admin.stats()["by_path_status"].get(ENDPOINT, {})
    return out


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}


def _run(sb: SandboxHandle, cwd: Path, *args: Any, key: str | None = None) -> CliResult:
    result = syncer(
        "run",
        *args,
        "--ledger",
        cwd / "ledger.db",
        "--json",
        "-q",
        cwd=cwd,
        api_key=key or sb.api_key,
        base_url=sb.base_url,
    )
    assert result.code == 0, result.stderr
    return result


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang guard: 10,000 rows through a busy machine take minutes
def test_rerun_sends_nothing_then_exactly_the_changed_rows(tmp_path: Path) -> None:
    n = 10_000
    src = write_leads(tmp_path / "leads.csv", n)
    mapping = write_mapping(tmp_path / "leads.yaml")
    org = ("--org", "acme-prod")
    with sandbox() as sb:
        first = _run(sb, tmp_path, src, "--mapping", mapping, *org, "--concurrency", "32").json
        assert (first["succeeded"], first["requests"]) == (n, n + PREFLIGHT)

        # the same file again: nothing is sent, not even preflight
        before = sb.admin.stats()["total_requests"]
        again = _run(sb, tmp_path, src, "--mapping", mapping, *org).json
        assert (again["unchanged"], again["succeeded"], again["requests"]) == (n, 0, 0)
        assert sb.admin.stats()["total_requests"] == before

        # 100 changed rows: exactly those are sent
        changed = dict.fromkeys(random.Random(5).sample(range(n), 100), 1)
        write_leads(src, n, changed)
        counts = _by_status(sb)
        third = _run(sb, tmp_path, src, "--mapping", mapping, *org).json
        assert (third["succeeded"], third["unchanged"]) == (100, n - 100)
        assert third["requests"] == 100 + PREFLIGHT
        assert _delta(counts, _by_status(sb)) == {"200": 100, "422": PREFLIGHT}
        stored = contacts(sb)
        upserted_twice = {e for e, c in stored.items() if c["upsert_count"] == 2}
        assert upserted_twice == {f"lead{i:06d}@example{i % 50}.com" for i in changed}
        assert all(
            stored[f"lead{i:06d}@example{i % 50}.com"]["title"].endswith(" v1") for i in changed
        )

        # a new key for the same org, named with --org: the history is kept
        new_key = sb.admin.create_key()
        before = sb.admin.stats()["total_requests"]
        rotated = _run(sb, tmp_path, src, "--mapping", mapping, *org, key=new_key).json
        assert (rotated["unchanged"], rotated["requests"]) == (n, 0)
        assert sb.admin.stats()["total_requests"] == before
        # without --org the new key is another org to the ledger: a dry run would send all
        dry = _run(sb, tmp_path, src, "--mapping", mapping, "--dry-run", key=new_key).json
        assert (dry["ready"], dry["requests"]) == (n, 0)


def test_full_sends_every_row_and_history_follows_the_key(tmp_path: Path) -> None:
    n = 100
    src = write_leads(tmp_path / "leads.csv", n)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        assert _run(sb, tmp_path, src, "--mapping", mapping).json["succeeded"] == n

        counts = _by_status(sb)
        full = _run(sb, tmp_path, src, "--mapping", mapping, "--full").json
        assert (full["succeeded"], full["unchanged"], full["requests"]) == (n, 0, n + PREFLIGHT)
        assert _delta(counts, _by_status(sb)) == {"200": n, "422": PREFLIGHT}
        assert {c["upsert_count"] for c in contacts(sb).values()} == {2}

        # a dry run plans against the ledger too: nothing would be sent
        dry = _run(sb, tmp_path, src, "--mapping", mapping, "--dry-run").json
        assert (dry["ready"], dry["unchanged"], dry["requests"]) == (0, n, 0)

        # a rotated key reads back 3 remembered contacts: the same org, nothing sent again
        new_key = sb.admin.create_key()
        other = _run(sb, tmp_path, src, "--mapping", mapping, key=new_key).json
        assert (other["unchanged"], other["requests"]) == (n, 3)
        # --org names another org: its history starts empty, every row is sent
        named = _run(sb, tmp_path, src, "--mapping", mapping, "--org", "eu", key=new_key).json
        assert (named["succeeded"], named["requests"]) == (n, n + PREFLIGHT)
