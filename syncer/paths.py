"""Where syncer keeps its state: one per-user folder, wherever a command is started.

The folder is the platform's user data directory (``~/.local/share/syncer`` on Linux,
``~/Library/Application Support/syncer`` on macOS, ``%LOCALAPPDATA%\\syncer`` on Windows, via
platformdirs), or ``$SYNCER_HOME``. The ledger is ``ledger.db`` in it unless ``--ledger`` or
``$SYNCER_LEDGER`` says otherwise. A ``./.syncer/ledger.db`` left by syncer 0.1 (whose default
was the current directory) is still found and used, with a note, so no history is lost.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SYNCER_HOME"
LEDGER_ENV = "SYNCER_LEDGER"
#: the ledger's default before 0.2: under the directory the command was started in
LEGACY_LEDGER = Path(".syncer") / "ledger.db"


def data_home() -> Path:
    """syncer's per-user folder: ``$SYNCER_HOME``, else the platform's user data directory."""
    explicit = os.environ.get(HOME_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return platformdirs.user_data_path("syncer", appauthor=False)


def default_ledger() -> Path:
    """The ledger a command uses when none is named: ``$SYNCER_LEDGER``, else a legacy
    ``./.syncer/ledger.db`` when one exists, else ``ledger.db`` in :func:`data_home`."""
    explicit = os.environ.get(LEDGER_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    if LEGACY_LEDGER.is_file():
        return LEGACY_LEDGER.resolve()
    return data_home() / "ledger.db"


def ledger_notes(path: Path, *, existed: bool) -> list[str]:
    """What to tell the user about the ledger a run opened: a new one, or a legacy one."""
    if not existed:
        return [f"started a new ledger at {path} (the history of what was sent)"]
    if path.resolve() == LEGACY_LEDGER.resolve() and not os.environ.get(LEDGER_ENV):
        return [
            f"using the ledger {path} from the current directory (syncer's old default); to share "
            f"it with runs started anywhere, move it to {data_home() / 'ledger.db'} "
            f"or set {LEDGER_ENV}={path}"
        ]
    return []


def sandbox_db() -> Path:
    """The embedded sandbox's data file (``--sandbox``)."""
    return data_home() / "sandbox.db"
