"""Owner names -> owner e-mails, from a mapping's ``owners:`` (inline, or a CSV file).

Exports from HubSpot and others hold the owner's *name*; Reevo wants the owner's e-mail and
finds users by e-mail only. ``owners:`` says which e-mail each name stands for. Names match
trimmed, ignoring case and repeated spaces; a value that is already an e-mail address passes
through unchanged.

The top-level ``owners:`` also says what happens to a row whose owner e-mail is not a user of
the Reevo org (preflight looks each one up): its reserved key ``unknown:`` is one of
:data:`UNKNOWN_POLICIES` (default ``invalid``), beside the names::

    owners: {unknown: omit, Jane Smith: jane.smith@acme.com}
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import polars as pl
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "POLICY_KEY",
    "UNKNOWN_POLICIES",
    "OwnersSpec",
    "UnknownPolicy",
    "load_owners",
    "owner_key",
    "owner_map",
    "owners_option",
    "resolve_owners",
    "top_owners_option",
]

#: a row whose owner is not a Reevo user: ``invalid`` (the row is not sent, code
#: ``unknown_owner``), ``abort`` (the run stops before sending any row), ``omit`` (the row is
#: sent without that owner field, with an ``unknown_owner`` warning)
UnknownPolicy = Literal["invalid", "abort", "omit"]
UNKNOWN_POLICIES: tuple[UnknownPolicy, ...] = ("invalid", "abort", "omit")
#: the reserved key of the top-level ``owners:`` map that holds the policy
POLICY_KEY = "unknown"


class OwnersSpec(BaseModel):
    """The top-level ``owners:``: owner names -> e-mails, and the unknown-owner policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: dict[str, str] | None = None
    unknown: UnknownPolicy = Field(
        default="invalid",
        description="A row whose owner e-mail is not a Reevo user: invalid (default: the row "
        "is not sent), abort (the run stops before sending) or omit (sent without that owner, "
        "with a warning).",
    )

    @field_validator("unknown", mode="before")
    @classmethod
    def _policy(cls, v: Any) -> Any:
        if v not in UNKNOWN_POLICIES:
            raise ValueError(
                f"{v!r} is not a policy for owners who are not Reevo users: use invalid (the "
                "default: such rows are not sent), abort (stop the run) or omit (send them "
                "without the owner)"
            )
        return v


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


def top_owners_option(v: Any, info: ValidationInfo) -> Any:
    """The top-level ``owners:`` as :class:`OwnersSpec` data: an inline map whose reserved key
    ``unknown:`` is the policy (checked by the model, so its error names ``owners.unknown``),
    or the path of a CSV file of names."""
    if v is None or isinstance(v, OwnersSpec):
        return v
    if isinstance(v, dict):
        names = {k: e for k, e in v.items() if k != POLICY_KEY}
        out: dict[str, Any] = {"names": owners_option(names, info) if names else None}
        if POLICY_KEY in v:
            out["unknown"] = v[POLICY_KEY]
        return out
    return {"names": owners_option(v, info)}


def owners_option(v: Any, info: ValidationInfo) -> Any:
    """``owners:`` as ``{name key: e-mail}``: an inline map, or a CSV file read from the
    mapping file's folder (``context["base"]``; the working folder without one)."""
    if v is None:
        return v
    if isinstance(v, dict):
        for k in v:
            if owner_key(str(k)) == POLICY_KEY:
                raise ValueError(
                    f"{k!r} is reserved: 'unknown: {'|'.join(UNKNOWN_POLICIES)}' in the "
                    "top-level owners: says what to do with owners who are not Reevo users (a "
                    "person named Unknown goes in an owners CSV file)"
                )
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
