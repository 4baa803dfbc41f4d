"""Shared pieces of the ledger acceptance tests: generated lead files, a mapping, a sandbox
served on a loopback port (in this process's thread, so it outlives a killed CLI), ledger reads.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from syncer.sandbox import SandboxHandle, SandboxSettings, serve_in_thread

HEADER = ["Email", "First Name", "Last Name", "Company", "Job Title"]
ENDPOINT = "/api/v1/public/account_contact"

MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  company: Company
  title: Job Title
dedupe: {keep: last}
on_empty: omit
"""


def lead(i: int, version: int = 0) -> list[str]:
    """Row ``i`` of a generated file; ``version`` > 0 changes its title (a changed row)."""
    title = f"Title {i % 37}" + (f" v{version}" if version else "")
    return [f"lead{i:06d}@example{i % 50}.com", f"First{i}", f"Last{i}", f"Company {i % 50}", title]


def write_leads(path: Path, n: int, changed: dict[int, int] | None = None) -> Path:
    """A clean CSV of ``n`` distinct leads (rows ``changed`` get that version of their title)."""
    changed = changed or {}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(lead(i, changed.get(i, 0)) for i in range(n))
    return path


def write_mapping(path: Path) -> Path:
    """The mapping for :func:`write_leads` files."""
    path.write_text(MAPPING, encoding="utf-8")
    return path


@contextmanager
def sandbox(**faults: Any) -> Iterator[SandboxHandle]:
    """A fresh sandbox without example data on a free loopback port, with these fault knobs."""
    settings = SandboxSettings(port=0, random_seed=7, example_data=False, **faults)
    with serve_in_thread(settings) as handle:
        yield handle


def contacts(handle: SandboxHandle) -> dict[str, dict[str, Any]]:
    """The sandbox's contacts by lowercased e-mail."""
    return {str(c["email"]).lower(): c for c in handle.admin.dump()["contacts"]}


def endpoint_requests(handle: SandboxHandle, path: str = ENDPOINT) -> int:
    """How many requests the sandbox saw on ``path`` (every status)."""
    by_path: dict[str, int] = handle.admin.stats()["by_path"]
    return int(by_path.get(path, 0))


def committed_keys(ledger: Path) -> set[str]:
    """Keys whose success the ledger has committed (body hash set), read as another process."""
    if not ledger.exists():
        return set()
    db = sqlite3.connect(ledger, timeout=30)
    try:
        return {r[0] for r in db.execute("SELECT key FROM synced WHERE body_sha256 IS NOT NULL")}
    except sqlite3.OperationalError:  # killed before the schema was created
        return set()
    finally:
        db.close()
