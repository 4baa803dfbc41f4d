"""How the ledger names things: an org (base URL plus a key fingerprint or label), a request
body and a file (their sha256), and the time (UTC ISO 8601)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def body_hash(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request body (stable across versions and machines)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_fingerprint(api_key: str) -> str:
    """A short, one-way fingerprint of an API key: identifies the org, reveals nothing."""
    return hashlib.sha256(b"syncer-key-fingerprint\0" + api_key.encode("utf-8")).hexdigest()[:16]


def org_id(base_url: str, *, api_key: str | None = None, label: str | None = None) -> str:
    """The ledger's name for a Reevo org: base URL plus a label or the key's fingerprint."""
    base = base_url.rstrip("/").lower()
    if label:
        return f"{base}#{label}"
    return f"{base}#key:{key_fingerprint(api_key or '')}"
