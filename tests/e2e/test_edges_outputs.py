"""Acceptance (issue 9, rows 1, 2, 3 and 13): what syncer writes, through the real CLI.

1. a results file is valid input again (a ``reevo_contact_id`` column crashed ``validate`` and
   ``run`` with a polars DuplicateError, exit 70);
2. a source column named like one of ours (``source_row``, ``status``...) is kept as
   ``<name> (source)`` in every output, and a mapping naming it still finds it;
3. a results or failures path that is an input (source, mapping, ledger) is refused, exit 2,
   nothing written or sent;
13. each run keeps its own results and failures (``runs show N``), retry names do not pile up,
   no empty failures file, "nothing to retry" is exit 0.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
from collections.abc import Callable, Collection
from pathlib import Path

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, read_results, syncer, write_csv
from .ledger_helpers import (
    HEADER,
    MAPPING,
    contacts,
    endpoint_requests,
    lead,
    sandbox,
    write_leads,
    write_mapping,
)

OURS_HEAD = ["source_row", "status", "error", "warnings"]
OURS_TAIL = ["error_code", "reevo_contact_id", "reevo_account_id"]
GHOST = "ghost@acme.com"  # not a user of the sandbox org: Reevo answers 422
OWNER = "owner@acme.com"


def _cli(sb: SandboxHandle, cwd: Path, ledger: Path) -> Callable[..., CliResult]:
    """``syncer ARGS --ledger L --json -q --no-preflight`` against the sandbox."""

    def run(*args: object) -> CliResult:
        return syncer(
            *map(str, args),
            "--ledger",
            ledger,
            "--json",
            "-q",
            "--no-preflight",
            cwd=cwd,
            api_key=sb.api_key,
            base_url=sb.base_url,
        )

    return run


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_row1_a_results_file_is_valid_input_again(tmp_path: Path) -> None:
    src = write_leads(tmp_path / "leads.csv", 5)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        cli = _cli(sb, tmp_path, tmp_path / "ledger.db")
        first = cli("run", src, "--mapping", mapping)
        assert (first.code, first.json["succeeded"]) == (0, 5), first.stderr
        r1 = tmp_path / "r1.csv"  # the results file, under a plain name, as a user re-imports it
        shutil.copyfile(tmp_path / "leads.results.csv", r1)
        ids = [r["reevo_contact_id"] for r in read_results(r1)]
        assert all(ids)

        checked = syncer("validate", r1, "--mapping", mapping, "--json", cwd=tmp_path)
        assert (checked.code, checked.json["ready"]) == (0, 5), checked.stderr
        again = tmp_path / "r1.results.csv"
        assert _header(again) == [
            *OURS_HEAD,
            *(f"{c} (source)" for c in OURS_HEAD),
            *HEADER,
            *(f"{c} (source)" for c in OURS_TAIL),
            *OURS_TAIL,
        ]
        rows = read_results(again)
        assert [r["reevo_contact_id (source)"] for r in rows] == ids
        assert [r["status (source)"] for r in rows] == ["succeeded"] * 5

        # run it: the same contacts, already up to date; it writes its results like any run
        sent = endpoint_requests(sb)
        rerun = cli("run", r1, "--mapping", mapping)
        assert (rerun.code, rerun.json["unchanged"]) == (0, 5), rerun.stderr
        assert endpoint_requests(sb) == sent
        assert [r["status"] for r in read_results(again)] == ["unchanged"] * 5

        # a results file of a results file: the earlier "(source)" columns keep their names
        r2 = tmp_path / "r2.csv"
        shutil.copyfile(again, r2)
        twice = syncer("validate", r2, "--mapping", mapping, "--json", cwd=tmp_path)
        assert (twice.code, twice.json["ready"]) == (0, 5), twice.stderr
        rows2 = read_results(tmp_path / "r2.results.csv")
        assert [r["reevo_contact_id (source)"] for r in rows2] == ids
        assert [r["status (source)"] for r in rows2] == ["succeeded"] * 5
        assert [r["status (source)_2"] for r in rows2] == ["unchanged"] * 5
        assert [r["Email"] for r in rows2] == [lead(i)[0] for i in range(5)]


def test_row2_columns_named_like_ours_are_kept_as_name_source(tmp_path: Path) -> None:
    header = ["source_row", "status", "Email", "First Name", "reevo_contact_id"]
    src = write_csv(
        tmp_path / "crm.csv",
        header,
        [
            ["A-1", "hot", "ann@x.example", "Ann", "legacy-1"],
            ["A-2", "cold", "bob-at-x.example", "Bob", "legacy-2"],
            ["A-3", "warm", "cy@x.example", "Cy", ""],
        ],
    )
    mapping = tmp_path / "crm.yaml"  # a mapping that names a header called "status"
    mapping.write_text(
        "target: account_contact\ncolumns:\n  email: Email\n  first_name: First Name\n"
        "  title: status\n",
        encoding="utf-8",
    )
    kept = ["source_row (source)", "status (source)", "Email", "First Name"]
    kept.append("reevo_contact_id (source)")
    with sandbox() as sb:
        cli = _cli(sb, tmp_path, tmp_path / "ledger.db")
        res = cli("run", src, "--mapping", mapping)
        assert (res.code, res.json["succeeded"], res.json["invalid"]) == (1, 2, 1), res.stderr
        results = tmp_path / "crm.results.csv"
        assert _header(results) == [*OURS_HEAD, *kept, *OURS_TAIL]
        rows = read_results(results)
        assert [r["source_row"] for r in rows] == ["2", "3", "4"]
        assert [r["source_row (source)"] for r in rows] == ["A-1", "A-2", "A-3"]
        assert [r["reevo_contact_id (source)"] for r in rows] == ["legacy-1", "legacy-2", ""]
        assert rows[0]["reevo_contact_id"] and rows[0]["reevo_contact_id"] != "legacy-1"
        assert contacts(sb)["ann@x.example"]["title"] == "hot"

        # the failures file keeps the same names, and runs again with the same mapping
        failures = tmp_path / "crm.failures.csv"
        assert _header(failures) == [*kept, "error"]
        fixed = read_results(failures)
        assert [r["status (source)"] for r in fixed] == ["cold"]
        with failures.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=[*kept, "error"])
            w.writeheader()
            w.writerow({**fixed[0], "Email": "bob@x.example"})
        again = cli("run", failures, "--mapping", mapping)
        assert (again.code, again.json["succeeded"]) == (0, 1), again.stderr
        assert contacts(sb)["bob@x.example"]["title"] == "cold"
        retried = read_results(tmp_path / "crm.retry.results.csv")
        assert [r["status (source)"] for r in retried] == ["cold"]
        assert [r["source_row (source)"] for r in retried] == ["A-2"]


def test_row3_an_output_path_that_is_an_input_is_refused(tmp_path: Path) -> None:
    src = write_leads(tmp_path / "same.csv", 3)
    mapping = write_mapping(tmp_path / "same.yaml")
    ledger = tmp_path / "ledger.db"
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    (tmp_path / "sub").mkdir()
    named_as_failures = write_leads(tmp_path / "out.failures.csv", 3)
    originals = {p: p.read_bytes() for p in (src, mapping, named_as_failures)}

    def refused(res: CliResult, *words: str) -> None:
        assert res.code == 2, res.stdout + res.stderr
        assert "Choose another --results path" in res.stderr, res.stderr
        for word in words:
            assert word in res.stderr, res.stderr

    for results in (src, link, tmp_path / "sub" / ".." / "same.csv", mapping):
        res = syncer("validate", src, "--mapping", mapping, "--results", results, cwd=tmp_path)
        refused(res, "same.")
    # the failures file beside --results out.csv would be the source itself
    res = syncer("validate", named_as_failures, "--mapping", mapping, "--results",
                 tmp_path / "out.csv", cwd=tmp_path)  # fmt: skip
    refused(res, "out.failures.csv", "is the source")
    assert not (tmp_path / "out.csv").exists()

    with sandbox() as sb:
        cli = _cli(sb, tmp_path, ledger)
        assert cli("run", src, "--mapping", mapping).code == 0
        sent = endpoint_requests(sb)
        ledger_bytes = ledger.read_bytes()
        for results in (ledger, src, mapping):
            refused(cli("run", src, "--mapping", mapping, "--full", "--results", results))
        refused(cli("run", src, "--mapping", mapping, "--results", ledger), "is the ledger")
        assert endpoint_requests(sb) == sent  # nothing was sent
        assert ledger.read_bytes() == ledger_bytes
        runs = syncer("runs", "--ledger", ledger, "--json", cwd=tmp_path)
        assert runs.code == 0 and len(runs.json["runs"]) == 1
    for path, data in originals.items():
        assert path.read_bytes() == data, path
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def _write_owned(path: Path, n: int, ghosts: Collection[int] = ()) -> Path:
    rows = [[*lead(i), GHOST if i in ghosts else OWNER] for i in range(n)]
    return write_csv(path, [*HEADER, "Owner"], rows)


def test_row13_each_run_keeps_its_own_results_and_names_do_not_pile_up(tmp_path: Path) -> None:
    n, ghosts = 6, {1, 4}
    src = _write_owned(tmp_path / "leads.csv", n, ghosts)
    mapping = tmp_path / "leads.yaml"
    owned = "  title: Job Title\n  contact_owner_email: Owner\n"
    mapping.write_text(MAPPING.replace("  title: Job Title\n", owned), encoding="utf-8")
    ledger = tmp_path / "ledger.db"
    results, failures = tmp_path / "leads.results.csv", tmp_path / "leads.failures.csv"
    with sandbox() as sb:
        cli = _cli(sb, tmp_path, ledger)
        first = cli("run", src, "--mapping", mapping)
        assert (first.code, first.json["failed"]) == (1, 2), first.stderr
        run1 = (results.read_bytes(), failures.read_bytes())

        # retry the results, then the failures of that retry: one name per round, no pile-up
        retried = cli("retry", results)
        assert (retried.code, retried.json["failed"]) == (1, 2), retried.stderr
        assert retried.json["results"] == str(tmp_path / "leads.retry.results.csv")
        assert retried.json["failures"] == str(tmp_path / "leads.retry.failures.csv")
        again = cli("retry", tmp_path / "leads.retry.failures.csv")
        assert (again.code, again.json["failed"]) == (1, 2), again.stderr
        assert again.json["results"] == str(tmp_path / "leads.retry2.results.csv")

        # the owners fixed in the source: the last run has nothing to fix, so no failures file
        _write_owned(src, n)
        fixed = cli("run", src, "--mapping", mapping)
        assert (fixed.code, fixed.json["succeeded"], fixed.json["unchanged"]) == (0, 2, 4)
        assert fixed.json["failures"] is None and "no failures" in fixed.stdout
        assert not failures.exists()  # run 1's, now stale, is gone
        assert results.read_bytes() != run1[0]

        # nothing left to retry: exit 0 with a message, nothing sent or written
        sent = endpoint_requests(sb)
        nothing = cli("retry", results)
        assert nothing.code == 0, nothing.stderr
        assert "nothing to retry" in nothing.stdout and nothing.json["rows"] == 0
        assert endpoint_requests(sb) == sent

    assert sorted(p.name for p in tmp_path.glob("*.csv")) == [
        "leads.csv",
        "leads.results.csv",
        "leads.retry.failures.csv",
        "leads.retry.results.csv",
        "leads.retry2.failures.csv",
        "leads.retry2.results.csv",
    ]

    # runs show 1 leads to run 1's own rows, though its stable names now hold run 4's
    show = syncer("runs", "--ledger", ledger, "show", "1", "--json", cwd=tmp_path)
    assert show.code == 0, show.stderr
    data = show.json
    assert data["results"] == str(results.resolve())
    assert Path(data["kept_results"]).read_bytes() == run1[0]
    assert Path(data["kept_failures"]).read_bytes() == run1[1]
    assert Path(data["kept_results"]).parent == tmp_path / "ledger-runs" / "1"
    assert "now holds run #4" in show.stdout and "kept_results:" in show.stdout
    last = syncer("runs", "--ledger", ledger, "show", "4", "--json", cwd=tmp_path).json
    assert last["failures"] is None and last["kept_failures"] is None
    assert Path(last["kept_results"]).read_bytes() == results.read_bytes()
    listed = syncer("runs", "--ledger", ledger, "--json", cwd=tmp_path).json["runs"]
    assert [r["id"] for r in listed] == [4, 3, 2, 1]  # the no-op retry recorded no run
    assert all(Path(r["kept_results"]).is_file() for r in listed)


V1_RUNS = """CREATE TABLE runs (
    id INTEGER PRIMARY KEY, org TEXT NOT NULL, base_url TEXT NOT NULL, target TEXT NOT NULL,
    source TEXT NOT NULL, source_sha256 TEXT NOT NULL, mapping TEXT NOT NULL,
    mapping_sha256 TEXT NOT NULL, command TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, outcome TEXT NOT NULL DEFAULT 'running',
    exit_code INTEGER, rows INTEGER, counts TEXT, requests INTEGER, message TEXT,
    results_path TEXT, failures_path TEXT)"""


def test_row13_a_ledger_from_before_kept_copies_is_migrated_once(tmp_path: Path) -> None:
    ledger = tmp_path / "old.db"
    db = sqlite3.connect(ledger)
    db.execute(V1_RUNS)
    db.execute(
        "INSERT INTO runs (org, base_url, target, source, source_sha256, mapping, "
        "mapping_sha256, command, pid, started_at, finished_at, outcome, exit_code, rows, "
        "counts, requests, results_path, failures_path) VALUES ('o', 'u', 'account_contact', "
        "'/d/x.csv', '', '/d/m.yaml', '', 'syncer run', 1, '2024-01-01T00:00:00+00:00', "
        "'2024-01-01T00:01:00+00:00', 'finished', 0, 1, '{\"succeeded\": 1}', 1, "
        "'/d/x.results.csv', NULL)"
    )
    db.commit()
    db.close()
    for _ in range(2):  # opening it again changes nothing
        show = syncer("runs", "--ledger", ledger, "show", "1", "--json", cwd=tmp_path)
        assert show.code == 0, show.stderr
        data = show.json
        assert (data["results"], data["kept_results"], data["kept_failures"]) == (
            "/d/x.results.csv",
            None,
            None,
        )
    db = sqlite3.connect(ledger)
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    db.close()
    assert columns.count("kept_results") == 1 and columns.count("kept_failures") == 1
