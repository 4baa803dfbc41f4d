"""A mapping's columns against a file's headers: which entries read which columns
(:func:`_raw_entries` from the YAML, :func:`_entries` from a :class:`Mapping`), the match
(exact, then trimmed and any case, then with the `` (source)`` suffix), the one error naming
every column the file lacks (:func:`resolve_columns`), and notes for absent optional columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from syncer.errors import MappingError, SourceError
from syncer.mapping.models import Mapping
from syncer.mapping.problems import Problem, _close, _report
from syncer.mapping.vocabulary import _BOM, FIELD_SECTIONS, LOOKUP_FORMS
from syncer.results import SOURCE_SUFFIX
from syncer.yamldoc import Lines


@dataclass(frozen=True, slots=True)
class _Entry:
    """A mapping entry that reads a source column, and the line it is on."""

    section: str
    name: str
    column: str
    line: int | None
    optional: bool = False


def _raw_entries(data: dict[str, Any], lines: Lines) -> list[_Entry]:
    """Every entry that names a source column, read from the raw YAML: an entry whose Reevo
    field or options are wrong still names a header that can be checked."""
    out: list[_Entry] = []
    for section in FIELD_SECTIONS:
        block = data.get(section)
        if not isinstance(block, dict):
            continue
        for name, entry in block.items():
            column = entry.get("column") if isinstance(entry, dict) else entry
            if isinstance(entry, dict) and column is None:  # a lookup form: {domain: Column}
                column = next((entry[f] for f in LOOKUP_FORMS if f in entry), None)
            optional = isinstance(entry, dict) and entry.get("optional") is True
            at = lines.line((section, name))
            # column: [A, B] reads each (a bare list is reported as malformed)
            many = column if isinstance(entry, dict) and isinstance(column, list) else [column]
            for one in many:
                if isinstance(one, bool) or not isinstance(one, str | int | float):
                    continue  # value: constants, and entries reported as malformed
                if str(one).strip(" \t" + _BOM):
                    out.append(_Entry(section, str(name), str(one), at, optional))
    then = data.get("then")
    enroll = then.get("enroll") if isinstance(then, dict) else None
    for name, entry in (enroll or {}).items() if isinstance(enroll, dict) else ():
        column = entry.get("column") if isinstance(entry, dict) else entry
        if isinstance(column, str) and column.strip(" \t" + _BOM) and name != "only":
            at = lines.line(("then", "enroll", name))
            out.append(_Entry("then.enroll", str(name), column, at))
    key = data.get("key")
    column = key.get("column") if isinstance(key, dict) else None
    readable = isinstance(column, str | int | float) and not isinstance(column, bool)
    if readable and str(column).strip(" \t" + _BOM):
        out.append(_Entry("key", "column", str(column), lines.line(("key", "column"))))
    return out


def _entries(mapping: Mapping) -> list[_Entry]:
    out = [
        _Entry(section, name, column, fs.line, fs.optional)
        for section in FIELD_SECTIONS
        for name, fs in getattr(mapping, section).items()
        for column in fs.headers
    ]
    if mapping.key_column is not None:
        out.append(_Entry("key", "column", mapping.key_column, mapping.key_line))
    out += [
        _Entry("then.enroll", name, column, fs.line, fs.optional)
        for name, fs in mapping.enroll_entries().items()
        for column in fs.headers
    ]
    return out


def _norm_header(name: str) -> str:
    return name.strip().strip(_BOM).strip().casefold()


def _loose(available: list[str]) -> dict[str, str]:
    """The file's headers by their trimmed, case-folded form (the first of equal ones)."""
    loose: dict[str, str] = {}
    for name in available:
        loose.setdefault(_norm_header(name), name)
    return loose


def _match(entries: list[_Entry], available: list[str]) -> tuple[dict[str, str], list[_Entry]]:
    """Mapped header -> the file's header (exact first, then loose), and the entries whose
    header the file lacks (``optional: true`` entries are never missing)."""
    exact = set(available)
    loose = _loose(available)
    found: dict[str, str] = {}
    missing: list[_Entry] = []
    for entry in entries:
        wanted = entry.column
        if wanted in exact:
            found[wanted] = wanted
        elif f"{wanted}{SOURCE_SUFFIX}" in exact:  # `status` is read as `status (source)`
            found[wanted] = f"{wanted}{SOURCE_SUFFIX}"
        elif _norm_header(wanted) in loose:
            found[wanted] = loose[_norm_header(wanted)]
        elif _norm_header(f"{wanted}{SOURCE_SUFFIX}") in loose:
            found[wanted] = loose[_norm_header(f"{wanted}{SOURCE_SUFFIX}")]
        elif not entry.optional:
            missing.append(entry)
    return found, missing


def _raise_missing(
    where: str,
    problems: list[Problem],
    missing: list[_Entry],
    available: list[str],
    note: str,
    entries: list[_Entry],
) -> NoReturn:
    """One error: the mapping's own ``problems``, a line per entry whose column the file lacks
    (with the closest real header, not one the same entry reads already: ``column: [A, B]``),
    then the file's columns and ``note``."""
    loose = _loose(available)
    listed_missing: list[Problem] = []
    for entry in missing:
        ours = (entry.section, entry.name)
        read = {_norm_header(e.column) for e in entries if (e.section, e.name) == ours}
        close = _close(_norm_header(entry.column), [h for h in loose if h not in read])
        hint = f"; did you mean {loose[close]!r}?" if close is not None else ""
        text = f"column {entry.column!r} not found in the file{hint}"
        listed_missing.append((entry.line, f"{entry.section}.{entry.name}: {text}"))
    listed = ", ".join(repr(c) for c in available[:40]) or "(none)"
    if len(available) > 40:
        listed += f" ... ({len(available) - 40:,} more)"
    head, texts, line = _report(where, [*problems, *listed_missing])
    fix = (
        "the mapping file (or the file's header)"
        if problems
        else "the mapping or the file's header"
    )
    message = (
        f"{head}\nThe file's columns are: {listed}.{' ' + note if note else ''}\n"
        f"Fix {fix} and run again."
    )
    if problems:
        raise MappingError(message, path=where, line=line, problems=texts)
    raise SourceError(message)


def resolve_columns(mapping: Mapping, available: list[str], *, note: str = "") -> dict[str, str]:
    """Map each mapped header to the file's actual header (trim spaces/BOM, ignore case); an
    ``optional: true`` column the file lacks is left out (see :func:`absent_optional`).

    Raises SourceError naming the mapping line of every column the file lacks, with the
    closest real header, and listing the file's columns (``note`` follows that list).
    """
    entries = _entries(mapping)
    found, missing = _match(entries, available)
    if missing:
        _raise_missing(str(mapping.path or "the mapping"), [], missing, available, note, entries)
    return found


def absent_optional(mapping: Mapping, found: dict[str, str]) -> list[str]:
    """A note for each ``optional: true`` entry some of whose columns the file lacks
    (``found``: what :func:`resolve_columns` returned): the field is not sent, or (``column:
    [A, B]``) reads the columns the file has."""
    where = str(mapping.path or "the mapping")
    notes = []
    for section in FIELD_SECTIONS:
        for name, fs in getattr(mapping, section).items():
            absent = [c for c in fs.headers if c not in found]
            if not fs.optional or not absent:
                continue
            at = f"{where}:{fs.line}" if fs.line else where
            what = ", ".join(repr(c) for c in absent)
            are = "columns {} are" if len(absent) > 1 else "column {} is"
            there = [repr(c) for c in fs.headers if c in found]
            then = f"reads {' and '.join(there)} only" if there else "is not sent"
            notes.append(
                f"{at}: optional {are.format(what)} not in the file: {section}.{name} {then}"
            )
    return notes
