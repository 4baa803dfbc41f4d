"""Owner names -> owner e-mails, from a mapping's ``owners:`` (inline, or a CSV file).

Exports from HubSpot and others hold the owner's *name*; Reevo wants the owner's e-mail and
finds users by e-mail only. ``owners:`` says which e-mail each name stands for. Names match
trimmed, ignoring case and repeated spaces; a value that is already an e-mail address passes
through unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationInfo

__all__ = ["load_owners", "owner_key", "owner_map", "owners_option", "resolve_owners"]

_SPACES = re.compile(r"\s+")


def owner_key(name: str) -> str:
    """How a name is compared: trimmed, inner spaces collapsed, lower case."""
    return _SPACES.sub(" ", name.strip()).lower()


def _email(text: str) -> str | None:
    """``text`` as a normalised e-mail address, or None when it is not one."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def owner_map(pairs: Mapping[object, object] | list[tuple[int | None, str, str]]) -> dict[str, str]:
    """``{name: e-mail}`` checked and keyed by :func:`owner_key`.

    ``pairs`` is the inline YAML map, or (line, name, e-mail) rows read from a file. Raises
    ValueError naming the entry (and its line) that is not usable.
    """
    rows = [(None, str(k), v) for k, v in pairs.items()] if isinstance(pairs, Mapping) else pairs
    out: dict[str, str] = {}
    shown: dict[str, str] = {}
    for line, name, email in rows:
        at = f"line {line}: " if line is not None else ""
        if not isinstance(email, str) or not email.strip():
            raise ValueError(f"{at}{name!r} has no e-mail address (write 'Name: name@company.com')")
        key = owner_key(name)
        if not key:
            raise ValueError(f"{at}a blank name for {email!r}")
        normal = _email(email)
        if normal is None:
            raise ValueError(f"{at}{name!r}: {email!r} is not an e-mail address")
        if key in out and out[key].lower() != normal.lower():
            raise ValueError(
                f"{at}{name!r} is listed twice, as {out[key]!r} ({shown[key]!r}) and {normal!r}; "
                "keep one"
            )
        out[key] = normal
        shown[key] = name
    return out


def owners_option(v: Any, info: ValidationInfo) -> Any:
    """``owners:`` as ``{name key: e-mail}``: an inline map, or a CSV file read from the
    mapping file's folder (``context["base"]``; the working folder without one)."""
    if v is None:
        return v
    if isinstance(v, str):
        base = (info.context or {}).get("base") or Path.cwd()
        return load_owners(Path(base) / v)
    if isinstance(v, dict):
        return owner_map(v)
    raise ValueError(
        "owners is a map of 'Name: e-mail' lines, or the path of a CSV file of name,email"
    )


def load_owners(path: Path) -> dict[str, str]:
    """Read an owners CSV (``name,email`` per line; a header line is optional; ``,`` ``;`` or
    tab between the two). Raises ValueError with ``file:line`` and what to fix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValueError(
            f"owners file {path} not found (a relative path is read from the mapping file's "
            "folder). Create it with one 'name,email' line per owner, or fix the path."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read owners file {path} ({exc}); save it as UTF-8 CSV") from None
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    rows: list[tuple[int | None, str, str]] = []
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    for cells in reader:
        line = reader.line_num
        cells = [c.strip() for c in cells]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(cells) != 2:
            raise ValueError(
                f"{path}:{line}: expected 2 cells (name{delimiter}email), found {len(cells)}: "
                f"{delimiter.join(cells)!r}"
            )
        if not rows and "@" not in cells[1] and line == _first_line(text):
            continue  # a header line such as "name,email"
        rows.append((line, cells[0], cells[1]))
    if not rows:
        raise ValueError(f"{path}: no owners in the file; add one 'name,email' line per owner")
    try:
        return owner_map(rows)
    except ValueError as exc:
        raise ValueError(f"{path}:{str(exc).removeprefix('line ')}") from None


def _first_line(text: str) -> int:
    """The number of the first line that is not blank."""
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip(" \t,;"):
            return i
    return 0


def resolve_owners(values: pl.Series, owners: Mapping[str, str]) -> pl.Series:
    """Each value replaced by its owner's e-mail when the name is listed; otherwise unchanged.

    Works on the distinct values (a file has few owners)."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    distinct = frame.select(pl.col("v").unique().drop_nulls())
    names = distinct["v"].to_list()
    emails = [owners.get(owner_key(v), v) for v in names]
    table = pl.DataFrame({"v": names, "e": emails}, schema={"v": pl.String, "e": pl.String})
    joined = frame.join(table, on="v", how="left", maintain_order="left")
    return joined["e"].alias(values.name)
