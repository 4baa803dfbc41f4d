"""The SQLite ledger: what syncer already sent to which Reevo org, and the history of runs.

- :mod:`~syncer.ledger.database`: :class:`Ledger`, the file and its writes;
- :mod:`~syncer.ledger.schema`: the tables, their versions and migrations;
- :mod:`~syncer.ledger.synced`: the ``synced`` table (:class:`SyncedRow`, the bulk read
  :func:`read_synced`);
- :mod:`~syncer.ledger.runs`: the ``runs`` table (:class:`RunRecord`);
- :mod:`~syncer.ledger.rates`: the ``accepted_rates`` table (:class:`AcceptedRate`);
- :mod:`~syncer.ledger.identity`: the names it keeps (:func:`org_id`, body and file hashes).
"""

from syncer.ledger.database import Ledger
from syncer.ledger.identity import body_hash, file_sha256, key_fingerprint, now_iso, org_id
from syncer.ledger.rates import AcceptedRate
from syncer.ledger.runs import RunRecord, pid_alive
from syncer.ledger.schema import SCHEMA_VERSION
from syncer.ledger.synced import SCAN_FROM, SyncedRow, iter_chunks, read_synced

__all__ = [
    "SCAN_FROM",
    "SCHEMA_VERSION",
    "AcceptedRate",
    "Ledger",
    "RunRecord",
    "SyncedRow",
    "body_hash",
    "file_sha256",
    "iter_chunks",
    "key_fingerprint",
    "now_iso",
    "org_id",
    "pid_alive",
    "read_synced",
]
