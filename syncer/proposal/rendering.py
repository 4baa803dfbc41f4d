"""A :class:`~syncer.proposal.proposing.Proposal` as a mapping file people can read: every line
says why it was chosen; every column not mapped is a commented-out line ready to uncomment.
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml

from syncer.proposal.proposing import Choice, Line, Proposal
from syncer.targets import TARGETS

__all__ = ["modeline", "render"]


def modeline() -> str | None:
    """The ``# yaml-language-server: $schema=...`` first line (``syncer.schema.modeline``), or
    None where that module is missing. The one place a generated mapping gets it."""
    try:
        schema = importlib.import_module("syncer.schema")
    except ImportError:
        return None
    make = getattr(schema, "modeline", None)
    return str(make()) if callable(make) else None


def _flow(value: Any) -> str:
    """``value`` as one line of YAML flow syntax (quoted where YAML needs it)."""
    text = yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=1 << 20)
    return text.strip()[1:-1]


def _entry(
    column: str, options: dict[str, Any], form: str | None = None, also: list[str] | None = None
) -> str:
    read: str | list[str] = [column, *also] if also else column  # column: [A, B]
    if form is not None:  # a lookup: account: {domain: Company Domain}
        return _flow({form: read, **options})
    return _flow({"column": read, **options}) if options or also else _flow(column)


def _comment(text: str) -> str:
    return f"  # {' '.join(text.split())}" if text else ""


def _chosen(c: Choice) -> str:
    entry = _entry(c.column, c.options, c.form, c.also)
    return f"  {_flow(c.field)}: {entry}{_comment(c.reason)}"


def _line(line: Line, indent: str) -> str:
    """A commented-out entry: ``  # name: column  # why`` (``indent`` before the name)."""
    entry = _entry(line.column, line.options, line.form)
    body = f"{_flow(line.name)}: {entry}{_comment(line.reason)}"
    return f"  # {body}" if indent == "  " else f"{indent}{body}"


def render(proposal: Proposal, *, source: str, mapping: str) -> str:
    """The mapping file's text."""
    out: list[str] = []
    head = modeline()
    if head:
        out.append(head)
    made_from = f" ({proposal.layout.label})" if proposal.layout else ""
    out += [
        f"# Proposed by `syncer init` for {source}{made_from}. Each line ends with why it was",
        "# chosen; check the guesses, then run:",
        f"#   syncer validate {source} --mapping {mapping}",
    ]
    spec = TARGETS[proposal.target]
    out.append(f"target: {_flow(proposal.target)}")
    if proposal.key is not None:
        key = f"key: {_flow({'column': proposal.key.column})}{_comment(proposal.key.reason)}"
        out.append(key if proposal.key.active else f"# {key}")
    out.append("columns:")
    extra = [c for c in proposal.commented if c.section == "columns"]
    for c in proposal.chosen:
        out.append(_chosen(c))
        out += [_line(x, "  ") for x in extra if x.name == c.field]
    for x in extra:
        if proposal.chosen_for(x.name) is None:
            out.append(_line(x, "  "))
    custom = [c for c in proposal.commented if c.section not in ("columns",)]
    if custom:
        out += [
            "# Columns not mapped. To send one to Reevo, create the custom field there, then",
            "# uncomment its line and the section line above it (the name is Reevo's API name).",
        ]
        for section in (*spec.custom_sections, ""):
            lines = [c for c in custom if c.section == section]
            if not lines:
                continue
            if section:
                out.append(f"# {section}:")
                out += [_line(x, "#   ") for x in lines]
            else:
                out += [f"# not mapped: {_flow(x.column)}{_comment(x.reason)}" for x in lines]
    for name, allowed in spec.options.items():  # on_ambiguous, on_missing_account...
        others = " | ".join(allowed[1:])
        why = f"the default; or {others} (README, 'Accounts and opportunities')"
        out.append(f"# {name}: {allowed[0]}{_comment(why)}")
    return "\n".join(out) + "\n"
