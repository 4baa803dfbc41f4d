"""The library API (`syncer.sync`) as Airflow or Dagster would call it, against the sandbox."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

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


def _readme_python_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using syncer from Python", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, with every piece of syncer state (ledger, per-user folder) under it."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "HOME": tmp_path / "home",
        "XDG_DATA_HOME": tmp_path / "home" / "data",
        "SYNCER_HOME": tmp_path / "home" / "syncer",
        "SYNCER_LEDGER": tmp_path / "ledger.db",
    }.items():
        monkeypatch.setenv(name, str(value))
    for name in ("REEVO_API_KEY", "REEVO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_readme_python_example_runs_as_written(
    own_state: Path, live_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9 row 9: README's example passes ``api_key_file`` as a str."""
    code = _readme_python_example()
    assert 'api_key_file="' in code  # a str, as a user would write it
    # the same program, pointed at the sandbox: only the URL and the secret's path differ
    (own_state / "key").write_text(live_sandbox.api_key + "\n", encoding="utf-8")
    code = code.replace("https://api.reevo.ai", live_sandbox.base_url)
    code = code.replace('"/run/secrets/reevo"', '"key"')
    write_csv(own_state / "leads.csv", ["Email", "First Name"], [["a@x.org", "A"]])
    (own_state / "mappings").mkdir()
    (own_state / "mappings" / "leads.yaml").write_text(MAPPING, encoding="utf-8")
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md (Using syncer from Python)", "exec"), scope)
    assert scope["summary"].counts["succeeded"] == 1 and scope["summary"].exit_code == 0
    assert "leads.results.csv" in capsys.readouterr().out


def test_validate_and_check_are_functions_after_a_run(
    own_state: Path, live_sandbox: SandboxHandle
) -> None:
    """Issue 9 row 10: running the pipeline once used to turn ``syncer.validate`` into the
    pipeline's validate module (``TypeError: 'module' object is not callable``)."""
    write_csv(own_state / "leads.csv", ["Email", "First Name"], [["a@x.org", "A"]])
    (own_state / "map.yaml").write_text(MAPPING, encoding="utf-8")
    settings = syncer.Settings(
        base_url=live_sandbox.base_url, api_key=live_sandbox.api_key, preflight=False
    )
    assert syncer.sync(Path("leads.csv"), Path("map.yaml"), settings).exit_code == 0
    from syncer import validate

    assert callable(validate), validate
    assert validate(Path("leads.csv"), Path("map.yaml")).counts["ready"] == 1
    from syncer import check

    assert check is syncer.check and check(Path("map.yaml"), settings).requests >= 1


OWNED = MAPPING + "  contact_owner_email: Owner\n"


def test_every_public_name_works_after_a_full_run(
    own_state: Path, live_sandbox: SandboxHandle
) -> None:
    """Issue 9 rows 9-10: after a real run, every name in ``syncer.__all__`` is what it says
    (``from syncer import validate`` is the function, not the module); paths may be str."""
    rows = [["a@x.org", "A", "owner@acme.com"], ["b@x.org", "B", "nobody@nowhere.example"]]
    write_csv(own_state / "leads.csv", ["Email", "First Name", "Owner"], rows)
    (own_state / "map.yaml").write_text(OWNED, encoding="utf-8")
    (own_state / "key").write_text(live_sandbox.api_key, encoding="utf-8")
    settings = syncer.Settings(
        base_url=live_sandbox.base_url,
        api_key_file="key",
        results="out/leads.results.csv",
        ledger="history.db",
        preflight=False,  # let Reevo itself reject the unknown owner: one failed row to retry
    )
    (own_state / "out").mkdir()
    first = syncer.sync("leads.csv", "map.yaml", settings)
    assert (first.counts["succeeded"], first.counts["failed"]) == (1, 1), first
    assert isinstance(settings.ledger, Path) and (own_state / "history.db").exists()

    names: dict[str, Any] = {}
    exec(f"from syncer import {', '.join(syncer.__all__)}", names)  # after the run, as a user
    used: set[str] = set()

    def use(name: str) -> Any:
        used.add(name)
        return names[name]

    summary_type = use("RunSummary")
    checked = use("validate")("leads.csv", "map.yaml", results="out/checked.csv")
    assert isinstance(checked, summary_type) and checked.counts["ready"] == 2
    assert isinstance(use("sync")("leads.csv", "map.yaml", settings), summary_type)
    own = replace(settings, results=None)  # retry names its own results file
    again = use("retry")("out/leads.results.csv", None, own)  # mapping from the ledger
    assert isinstance(again, summary_type) and again.counts["failed"] == 1
    for name in ("check", "check_access"):
        assert use(name)("map.yaml", settings).requests >= 1
    mapping = use("load_mapping")("map.yaml")
    assert isinstance(mapping, use("Mapping"))
    assert use("prepare")("leads.csv", mapping).counts()["ready"] == 2
    pushed = use("Settings")(api_key_file=Path("key"), push=use("PushSettings")(concurrency=2))
    assert pushed.push.concurrency == 2
    status = use("RowStatus")("succeeded")
    assert use("RowOutcome")(2, status).status is status
    base = use("SyncerError")
    for name in ("ConfigError", "MappingError", "SourceError", "ReevoError", "Retryable",
                 "RowRejected", "RunAborted"):  # fmt: skip
        cls = use(name)
        err = cls("what went wrong")
        assert issubclass(cls, base) and err.code and err.hint and str(err) == "what went wrong"
    assert issubclass(use("RunLocked"), base)
    stale = use("StaleSource")("old file", stale_rows=3, earlier_run=1)
    assert isinstance(stale, base) and stale.code == "stale_source" and stale.stale_rows == 3
    (own_state / "leads.job.yaml").write_text(
        "steps:\n  - {source: leads.csv, mapping: map.yaml}\n", encoding="utf-8"
    )
    checked_job = use("validate_job")("leads.job.yaml", results_dir="out/job")
    assert isinstance(checked_job, use("JobSummary")) and checked_job.totals()["ready"] == 2
    ran = use("run_job")("leads.job.yaml", own, results_dir="out/job")
    assert ran.steps[0].summary is not None and ran.exit_code == 1 and not ran.not_run
    stop = use("StopRequest")()
    stopped = use("sync")("leads.csv", "map.yaml", replace(settings, full=True, stop=stop))
    assert stopped.interrupted is None  # not requested: the run finishes
    stop.request()
    stopped = use("sync")("leads.csv", "map.yaml", replace(settings, full=True, stop=stop))
    assert stopped.interrupted == "SIGINT" and stopped.exit_code == 130
    assert stopped.counts["not_attempted"] == 2 and stopped.requests == 0
    assert use("__version__") == syncer.__version__
    assert used == set(syncer.__all__), f"not exercised here: {set(syncer.__all__) - used}"
