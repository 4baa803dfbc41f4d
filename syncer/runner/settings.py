"""How a run is configured: :class:`Settings`, and where the key and base URL come from."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from syncer.errors import ConfigError
from syncer.models import RowStatus
from syncer.paths import default_ledger
from syncer.push import PushSettings
from syncer.reevo.client import DEFAULT_BASE_URL, check_base_url
from syncer.sources.ahead import ReadAhead
from syncer.stopping import StopRequest

#: every status a run can give; RunSummary.counts always has each of them
RUN_STATUSES = tuple(s.value for s in RowStatus if s is not RowStatus.READY)
API_KEY_ENV = "REEVO_API_KEY"
BASE_URL_ENV = "REEVO_BASE_URL"


@dataclass
class Settings:
    """How :func:`sync` runs. Every field has a sensible default; the CLI fills them from flags.

    The API key comes from ``api_key``, else ``api_key_file``, else ``$REEVO_API_KEY``.
    """

    base_url: str | None = None  # default: $REEVO_BASE_URL, else Reevo's
    api_key: str | None = field(default=None, repr=False)
    api_key_file: Path | None = None
    results: Path | None = None
    #: csv | xlsx | both | csv-utf8 (syncer.results.RESULTS_FORMATS); None: both for an Excel
    #: source, csv for a text one
    results_format: str | None = None
    dry_run: bool = False
    full: bool = False  # send unchanged rows too
    #: send create-only rows again whose earlier create may have been applied (reevo_ambiguous)
    force_ambiguous: bool = False
    # default: $SYNCER_LEDGER, else the per-user ledger (syncer.paths); None: no ledger at all
    ledger: Path | None = field(default_factory=default_ledger)
    org_label: str | None = None  # ledger org name instead of the key's fingerprint
    org: str | None = None  # the exact ledger org id (overrides base URL + label/fingerprint)
    preflight: bool = True
    wait_s: float = 0.0  # wait this long for another run on the same org and target to finish
    again: bool = False  # import a file again even if newer runs changed some of its rows
    stop: StopRequest | None = None  # set it (e.g. from a signal handler) to stop the run
    push: PushSettings = field(default_factory=PushSettings)
    transport: Any = None  # an httpx transport, for tests
    command: str = "syncer.sync"
    progress: Callable[[int], None] | None = None  # called with 1 per finished row
    on_start: Callable[[int], None] | None = None  # called with the number of ready rows
    parent_run: int | None = None  # the run whose results file this one retries (retry())
    #: rows whose ``then: enroll`` a retry sends again (their results said enrolled: no)
    enroll_again: frozenset[int] = frozenset()
    #: the SOURCE's URL when the file read is a local copy of a remote one (s3://, sftp://):
    #: the ledger, the events and the report name it instead of the temporary file
    source_url: str | None = None
    #: the SOURCE's sha256 when the caller has it already (a download or the inbox computed it
    #: on the way): the run's file identity is not read a second time
    source_sha256: str | None = None
    #: the SOURCE's read begun by the caller (the command line, while it imports the rest)
    read_ahead: ReadAhead | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Every path field (``api_key_file``, ``results``, ``ledger``...) also takes a ``str``
        (or any os.PathLike): it is stored as a :class:`~pathlib.Path`."""
        for f in fields(self):
            value = getattr(self, f.name)
            plain = isinstance(value, str | os.PathLike) and not isinstance(value, Path)
            if plain and "Path" in str(f.type):
                setattr(self, f.name, Path(value))


def api_key_of(settings: Settings) -> str:
    """The API key: ``settings.api_key``, else ``api_key_file``, else ``$REEVO_API_KEY``."""
    if settings.api_key:
        return settings.api_key.strip()
    if settings.api_key_file is not None:
        try:
            key = settings.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the API key file {settings.api_key_file}: {exc.strerror}. "
                "Point --api-key-file at a readable file holding only the key."
            ) from None
        if not key:
            raise ConfigError(
                f"the API key file {settings.api_key_file} is empty: put the key in it, "
                f"or set {API_KEY_ENV} instead."
            )
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise ConfigError(
            f"no API key: set {API_KEY_ENV} (create a key in Reevo under Settings > API Keys "
            "with Accounts and Contacts write), pass --api-key-file, or try --sandbox."
        )
    return key


def base_url_of(settings: Settings) -> str:
    """The checked base URL: ``settings.base_url``, else ``$REEVO_BASE_URL``, else Reevo's."""
    return check_base_url(settings.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
