"""Reading a mapping file: :func:`read_mapping` collects every problem into a
:class:`MappingDraft` (so that one error can list the source's missing headers too);
:func:`load_mapping` raises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from syncer.errors import MappingError
from syncer.mapping.checks import _check_keys, _check_semantics
from syncer.mapping.columns import _Entry, _match, _raise_missing, _raw_entries
from syncer.mapping.models import FieldSpec, Mapping, SourceSpec
from syncer.mapping.problems import Problem, _raise
from syncer.mapping.vocabulary import FIELD_SECTIONS
from syncer.targets import DEFAULT, TARGETS
from syncer.yamldoc import parse_yaml


@dataclass
class MappingDraft:
    """A mapping file read and checked, its problems collected but not raised yet, so that the
    source file's headers can be checked too and one error lists everything (see
    :func:`read_mapping`)."""

    path: Path
    #: the checked mapping (field lines attached); None when pydantic could not build it
    mapping: Mapping | None
    #: how to read the source file; None when the ``source:`` block itself is wrong
    source: SourceSpec | None
    #: the mapping's own problems: unknown keys and fields, invalid values, rules
    problems: list[Problem]
    #: every entry naming a source column, even one whose field or options are wrong
    entries: list[_Entry]

    def raise_problems(self) -> None:
        """Raise MappingError listing the mapping's own problems, if it has any."""
        _raise(str(self.path), self.problems)

    def finish(self, headers: list[str] | None = None, *, note: str = "") -> Mapping:
        """The mapping, or one error listing every problem: the mapping's own and, given the
        file's ``headers``, every mapped column the file lacks (``note`` follows the list of
        the file's columns).

        MappingError when the mapping has problems of its own, SourceError when its only
        problem is columns the file lacks.
        """
        if headers is not None:
            _, missing = _match(self.entries, headers)
            if missing:
                _raise_missing(str(self.path), self.problems, missing, headers, note, self.entries)
        self.raise_problems()
        assert self.mapping is not None  # pydantic only fails with problems listed
        return self.mapping


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file. Raises MappingError naming file:line and a fix."""
    return read_mapping(path).finish()


def read_mapping(path: Path) -> MappingDraft:
    """Read a mapping file and collect every problem in it, without raising for them.

    Raises MappingError at once only when there is nothing to check: the file cannot be read,
    is not valid YAML, or is not a YAML mapping.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise MappingError(
            f"mapping file {where} not found. Check the --mapping path.", path=where
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"cannot read mapping file {where}: {exc}. Save it as UTF-8 text.", path=where
        ) from exc
    data, lines = parse_yaml(text, where)
    if not isinstance(data, dict):
        raise MappingError(
            f"{where}: a mapping file is a YAML mapping with at least 'columns:'"
            " (see README, 'Mapping files').",
            path=where,
        )
    # every problem at once: unknown keys (with suggestions), invalid values, the target's rules
    key_problems = _check_keys(data, lines, where)
    problems = list(key_problems)
    target = data.get("target", DEFAULT)
    spec = TARGETS.get(target) if isinstance(target, str) else None
    if spec is not None:
        problems += _check_semantics(data, spec, lines)
    mapping: Mapping | None = None
    try:
        context = {"base": path.parent}
        mapping = Mapping.model_validate({**data, "path": path}, context=context)
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] == "extra_forbidden" and key_problems:
                continue  # already reported by _check_keys, with a "did you mean"
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            dotted = ".".join(str(p) for p in loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] != "value_error" and isinstance(err.get("input"), str | int | float):
                msg += f" (got {err['input']!r})"
            problems.append((lines.line(loc), f"{dotted}: {msg}" if dotted else msg))
    source: SourceSpec | None = None
    if mapping is not None:
        # attach the line of every field entry, for later messages
        updates: dict[str, Any] = {}
        for section in FIELD_SECTIONS:
            block: dict[str, FieldSpec] = getattr(mapping, section)
            updates[section] = {
                name: fs.model_copy(update={"line": lines.line((section, name))})
                for name, fs in block.items()
            }
        if mapping.key_column is not None:
            updates["key_line"] = lines.line(("key", "column"))
        if mapping.then is not None and mapping.then.enroll is not None:
            enroll = mapping.then.enroll.model_copy(
                update={
                    name: fs.model_copy(update={"line": lines.line(("then", "enroll", name))})
                    for name, fs in mapping.enroll_entries().items()
                }
            )
            updates["then"] = mapping.then.model_copy(update={"enroll": enroll})
        mapping = mapping.model_copy(update=updates)
        source = mapping.source
    else:
        try:
            source = SourceSpec.model_validate(data.get("source", {}))
        except ValidationError:
            source = None
    return MappingDraft(path, mapping, source, problems, _raw_entries(data, lines))
