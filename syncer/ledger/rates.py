"""The ``accepted_rates`` table: the request rate each org last accepted per endpoint."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

#: the rate an org last accepted per endpoint (``POST account_contact``...): ``capped`` 1 when a
#: 429 found that limit, 0 when it is only a floor; the base URL and key fingerprint it was
#: measured with (never the key); created by the first write: older ledgers need no migration
RATES_TABLE = """
CREATE TABLE IF NOT EXISTS accepted_rates (
    org             TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    rate            REAL NOT NULL,
    capped          INTEGER NOT NULL,
    hold_s          REAL,
    base_url        TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    run_id          INTEGER,
    measured_at     TEXT NOT NULL,
    PRIMARY KEY (org, endpoint)
) WITHOUT ROWID
"""


class AcceptedRate(NamedTuple):
    """A request rate an org accepted (``accepted_rates``)."""

    rate: float  # requests per second
    capped: bool  # True: a 429 found this limit; False: only a floor (no 429 was seen)
    hold_s: float | None  # the pacer's hold before probing past the limit (None: a floor)
    base_url: str
    key_fingerprint: str  # :func:`key_fingerprint` of the key it was measured with
    measured_at: str  # UTC ISO 8601
    run_id: int | None = None


def read_rate(db: sqlite3.Connection, org: str, endpoint: str) -> AcceptedRate | None:
    """The rate ``org`` last accepted on ``endpoint``; None when none is remembered (or the
    ledger predates the table)."""
    try:
        row = db.execute(
            "SELECT rate, capped, hold_s, base_url, key_fingerprint, measured_at, run_id "
            "FROM accepted_rates WHERE org=? AND endpoint=?",
            (org, endpoint),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    return AcceptedRate(float(row[0]), bool(row[1]), *row[2:])


def write_rate(db: sqlite3.Connection, org: str, endpoint: str, rate: AcceptedRate) -> None:
    """Keep ``rate`` as the one ``org`` last accepted on ``endpoint`` (inside the caller's
    transaction; creates the table)."""
    db.execute(RATES_TABLE)
    db.execute(
        "INSERT OR REPLACE INTO accepted_rates (org, endpoint, rate, capped, hold_s, "
        "base_url, key_fingerprint, run_id, measured_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (org, endpoint, rate.rate, int(rate.capped), rate.hold_s, rate.base_url,
         rate.key_fingerprint, rate.run_id, rate.measured_at),
    )  # fmt: skip
