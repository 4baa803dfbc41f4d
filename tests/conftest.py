"""Shared fixtures: an in-process sandbox (ASGI) and a live one on a loopback port.

- ``sandbox_app``: a fresh :func:`syncer.sandbox.create_app` (key ``TEST_KEY``, seeded randomness).
- ``api``: a sync client over ``httpx.ASGITransport`` for that app, base URL the public API,
  sending ``x-api-key: TEST_KEY`` and ``payload_type=json``; ``api.admin(...)`` calls ``/_sandbox``.
- ``make_client(app, api_key)``: more such clients (closed after the test).
- ``moto_server``, ``s3_bucket``, ``sftp_server``, ``sftp``: local S3 and SFTP servers
  (tests/remote_servers.py).
- ``live_sandbox``: one uvicorn sandbox per session (``serve_in_thread``), reset (data, stats,
  faults) before each test that uses it; a :class:`syncer.sandbox.SandboxHandle`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

# the local S3 and SFTP servers (remote SOURCE / inbox DIR tests): moto_server, s3_bucket,
# sftp_server, sftp; see tests/remote_servers.py
from remote_servers import moto_server, s3_bucket, sftp, sftp_server  # noqa: F401

from syncer.sandbox import (
    FaultSettings,
    SandboxApp,
    SandboxHandle,
    SandboxSettings,
    create_app,
    serve_in_thread,
)

TEST_KEY = "test-key-all-permissions"
PUBLIC = "/api/v1/public"


class ASGIClient:
    """A synchronous facade over ``httpx.AsyncClient(transport=ASGITransport(app))``."""

    def __init__(self, app: SandboxApp, api_key: str | None = TEST_KEY) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        headers = {"x-api-key": api_key} if api_key else {}
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sandbox.test",
            headers=headers,
        )

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send one request; ``path`` is relative to the public API unless it starts with /."""
        url = path if path.startswith("/") else f"{PUBLIC}/{path}"
        if url.startswith(PUBLIC) and "payload_type=" not in url:
            url += ("&" if "?" in url else "?") + "payload_type=json"
        return self._runner.run(self._client.request(method, url, **kw))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        """Call ``/_sandbox/<path>`` and return the JSON body (asserting a 200)."""
        resp = self.request(method, f"/_sandbox/{path}", **kw)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def with_key(self, api_key: str | None) -> ASGIClient:
        """Another client on the same app with a different key (None = no key)."""
        return ASGIClient(self.app, api_key)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(port=0, api_key=TEST_KEY, random_seed=1234)


@pytest.fixture
def sandbox_app(sandbox_settings: SandboxSettings) -> SandboxApp:
    return create_app(sandbox_settings)


@pytest.fixture
def api(sandbox_app: SandboxApp) -> Iterator[ASGIClient]:
    client = ASGIClient(sandbox_app)
    yield client
    client.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., ASGIClient]]:
    """Factory: ``make_client(app, api_key=TEST_KEY)``; every client is closed afterwards."""
    made: list[ASGIClient] = []

    def make(app: SandboxApp, api_key: str | None = TEST_KEY) -> ASGIClient:
        made.append(ASGIClient(app, api_key))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def _live_sandbox_session() -> Iterator[SandboxHandle]:
    with serve_in_thread(SandboxSettings(port=0, api_key=TEST_KEY, random_seed=99)) as handle:
        yield handle


@pytest.fixture
def live_sandbox(_live_sandbox_session: SandboxHandle) -> SandboxHandle:
    handle = _live_sandbox_session
    handle.admin.set_faults(**FaultSettings().as_dict())
    handle.admin.reset()
    return handle


def pytest_configure(config: pytest.Config) -> None:
    """Keep syncer's per-user state (ledger, --sandbox data) out of the real home for the whole
    session, module-scoped fixtures included; each test then gets its own (below). Short
    remote-store retry pauses."""
    import os
    import tempfile

    config.stash[_SESSION_HOME] = os.environ["SYNCER_HOME"] = tempfile.mkdtemp(
        prefix="syncer-home-"
    )
    os.environ.pop("SYNCER_LEDGER", None)
    # remote stores pause 10 ms, not 0.5 s, before a retry (up to 3 pauses per call for each
    # unreachable-store test, CLI subprocesses included); the tries and their count are the same
    os.environ["SYNCER_STORAGE_BACKOFF_S"] = "0.01"


#: the session's per-user folder (:func:`pytest_configure`), removed when the session ends
_SESSION_HOME = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's per-user folder (each session, each xdist worker, made one)."""
    import shutil

    home = config.stash.get(_SESSION_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _syncer_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A fresh per-user folder ($SYNCER_HOME) for every test: no history leaks between tests."""
    monkeypatch.setenv("SYNCER_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("SYNCER_LEDGER", raising=False)
    yield


#: The longest tests (``--durations``, slowest first). Under pytest-xdist they start first, one
#: worker each in turn, so none is left running alone at the end: ``--dist worksteal`` hands each
#: worker a contiguous share of the collection (which would put all of tests/e2e on the first)
#: and steals only from the tails. A name that is not collected (renamed, deselected) is
#: ignored; a parametrised test is named without its ``[id]``. Order only: every test still runs.
LONG_FIRST = (
    "tests/e2e/test_resume_kill.py::test_sigkill_at_random_moments_then_rerun_completes_exactly_once",
    "tests/e2e/test_migration_job.py::test_sigkill_at_random_moments_then_rerun_completes_exactly_once",
    "tests/e2e/test_inbox_robust.py::test_sigkill_at_random_moments_then_one_more_run_archives_every_file_once",
    "tests/e2e/test_hostile_input.py::test_every_corpus_file",
    "tests/e2e/test_migration_job.py::test_the_whole_migration_then_again_then_ten_amounts_and_three_stages",
    "tests/e2e/test_change_detection.py::test_rerun_sends_nothing_then_exactly_the_changed_rows",
    "tests/e2e/test_secrets.py::test_no_output_file_or_ledger_holds_the_key",
    "tests/e2e/test_hostile_input.py::test_big_hostile_inputs_stay_bounded",
    "tests/e2e/test_tasks_acceptance.py::test_a_thousand_tasks_and_activities_are_imported_once_with_their_offsets",
    "tests/e2e/test_tasks_acceptance.py::test_faults_store_nothing_twice_and_ambiguous_rows_wait_for_force_ambiguous",
    "tests/e2e/test_secrets.py::test_a_remote_inbox_shows_no_store_secret_anywhere",
    "tests/e2e/test_secrets.py::test_a_remote_source_shows_no_store_secret_anywhere",
    "tests/e2e/test_migration_job.py::test_faults_leave_one_account_per_domain_and_one_deal_per_key",
    "tests/e2e/test_logs_cli.py::test_a_faulty_run_logs_one_line_per_retry_and_per_429_and_never_the_key",
    "tests/sandbox/test_sandbox_limits.py::test_real_flood_over_loopback_accepts_the_rate",
    "tests/e2e/test_edges_runs.py::test_signal_mid_run_writes_every_row_and_the_rerun_sends_only_the_rest",
)


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, start the :data:`LONG_FIRST` tests first: the k-th longest at the head of
    worker ``k % workers``'s first share (the scheduler's split, recomputed here)."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    rank = {name: i for i, name in enumerate(LONG_FIRST)}

    def rank_of(item: pytest.Item) -> int | None:
        return rank.get(item.nodeid.split("[", 1)[0])

    ranked = sorted((r, i) for i, it in enumerate(items) if (r := rank_of(it)) is not None)
    long = [items[i] for _, i in ranked]
    if workers < 2 or not long or len(items) < 2 * workers * len(long):
        return
    rest = [it for it in items if rank_of(it) is None]
    ordered: list[pytest.Item] = []
    left = len(items)
    for k in range(workers):  # worksteal's first split: len(pending) // workers still idle
        share = left // (workers - k)
        left -= share
        head = long[k::workers]
        take = share - len(head) if k < workers - 1 else len(rest)
        ordered += head + rest[:take]
        rest = rest[take:]
    assert len(ordered) == len(items)
    items[:] = ordered
