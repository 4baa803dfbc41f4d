"""Files where they are dropped: local folders, S3 buckets and SFTP servers, through fsspec.

- :func:`parse_location` / :class:`Location`: SOURCE or DIR as given (local path, ``s3://``,
  ``sftp://``); URLs with a password are refused, a missing backend names its extra.
- :class:`RemoteStore`: list / fetch (sha256 while streaming) / put / move / exists /
  makedirs / remove, network faults retried, then :class:`~syncer.errors.StorageUnreachable`.
- :func:`fetched`: a SOURCE as a local file for a ``with`` block (remote: a temporary copy).

Importing this package loads neither fsspec nor a backend: they load on first connection.
"""

from syncer.storage.location import (
    Location,
    is_url,
    parse_location,
    require_backend,
    secret_values,
)
from syncer.storage.store import LocalCopy, RemoteEntry, RemoteStore, fetched

__all__ = [
    "LocalCopy",
    "Location",
    "RemoteEntry",
    "RemoteStore",
    "fetched",
    "is_url",
    "parse_location",
    "require_backend",
    "secret_values",
]
