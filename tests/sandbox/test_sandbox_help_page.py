"""The help page's own curl examples succeed against the sandbox (in-process and via curl)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_help_page import curl_examples

from syncer.sandbox import DEMO_SEQUENCE_ID, EXAMPLE_ACCOUNT_ID, EXAMPLE_CONTACT_ID

TEST_KEY = "test-key-all-permissions"  # tests/conftest.py's key

EXAMPLES = curl_examples()


def _fill(text: str, opportunity_id: str) -> str:
    return (
        text.replace("{account_id}", EXAMPLE_ACCOUNT_ID)
        .replace("{contact_id}", EXAMPLE_CONTACT_ID)
        .replace("{opportunity_id}", opportunity_id)
        .replace("your-sequence-uuid", DEMO_SEQUENCE_ID)
    )


def test_page_has_all_documented_endpoints() -> None:
    # 17 endpoints; retrieval is shown twice (email and phone)
    assert len(EXAMPLES) == 18
    assert len({(e.method, e.path_and_query.split("?")[0]) for e in EXAMPLES}) == 17


def test_every_example_succeeds_in_process(api: Any) -> None:
    opportunity_id = "not-created-yet"
    client = api.with_key(None)  # only the example's own headers
    for ex in EXAMPLES:
        headers = {k: TEST_KEY if k.lower() == "x-api-key" else v for k, v in ex.headers.items()}
        body = json.loads(_fill(json.dumps(ex.body), opportunity_id)) if ex.body else None
        resp = client.request(
            ex.method, _fill(ex.path_and_query, opportunity_id), headers=headers, json=body
        )
        assert resp.status_code == 200, (ex.method, ex.path_and_query, resp.text)
        if ex.method == "POST" and ex.path_and_query.endswith("/opportunities"):
            opportunity_id = resp.json()["id"]
    # they did what they say
    acc = api.get(f"accounts/{EXAMPLE_ACCOUNT_ID}").json()
    assert acc["name"] == "Acme Corporation Updated"
    assert acc["owner_email"] == "new.owner@acme.com"
    opp = api.get(f"opportunities/{opportunity_id}").json()
    assert (opp["stage_name"], opp["amount"]) == ("Qualified", 95000.0)
    assert opp["custom_fields"] == {
        "deal_source": "Inbound",
        "probability": "90%",
        "deal_stage": "Proposal Sent",
    }


@pytest.fixture
def cli_sandbox() -> Iterator[str]:
    """``syncer sandbox`` as a subprocess on a free port; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sandbox", "--port", "0", "--api-key", TEST_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first.startswith("Reevo sandbox on "), first + proc.stderr.read()
        assert TEST_KEY in proc.stdout.readline()
        for line in proc.stderr:  # wait for uvicorn to listen
            if "Uvicorn running" in line:
                break
        yield first.split()[3]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")
def test_curl_examples_work_against_syncer_sandbox(cli_sandbox: str) -> None:
    opportunity_id = "not-created-yet"
    for ex in EXAMPLES:
        command = (
            _fill(ex.command, opportunity_id)
            .replace("https://api.reevo.ai", cli_sandbox)
            .replace("Your API KEY", TEST_KEY)
            .replace("Your API Key", TEST_KEY)
        )
        argv = [*shlex.split(command), "-s", "-w", "\n%{http_code}"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
        body, _, status = out.rpartition("\n")
        assert status == "200", (command, body)
        if ex.method == "POST" and ex.path_and_query.endswith("/opportunities"):
            opportunity_id = json.loads(body)["id"]
