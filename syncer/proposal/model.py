"""What ``syncer init`` proposes: the accepted lines, the commented-out ones, the key line and
the proposal as a whole (rendered by :mod:`.rendering`, printed as JSON by ``--json``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from syncer.proposal.layouts import Layout
from syncer.proposal.values import Profile

__all__ = ["Choice", "KeyLine", "Line", "Proposal", "listed_columns"]


@dataclass
class Choice:
    """A proposed line: ``field`` reads ``column``, with why and how sure."""

    field: str
    column: str
    stage: str  # layout | header | values
    confidence: float
    reason: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    language: str | None = None  # of the synonym a header matched
    form: str | None = None  # a lookup field's form: account: {domain: Column}
    #: columns read after ``column`` when it is blank (``column: [A, B]``)
    also: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``syncer init --json``); ``columns`` when it reads several."""
        return {
            "field": self.field,
            "column": self.column,
            **({"columns": [self.column, *self.also]} if self.also else {}),
            **({"form": self.form} if self.form else {}),
            "stage": self.stage,
            "confidence": round(self.confidence, 2),
            "reason": self.reason,
            "options": self.options,
        }


@dataclass
class Line:
    """A commented-out line: a column not mapped, with a suggestion and why."""

    section: str  # columns | contact_custom_fields | account_custom_fields | "" (no section)
    name: str  # the Reevo field, or a suggested custom field API name
    column: str
    reason: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    form: str | None = None  # a lookup field's form: account: {name: Column}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``syncer init --json``)."""
        return {
            "section": self.section,
            "name": self.name,
            "column": self.column,
            **({"form": self.form} if self.form else {}),
            "reason": self.reason,
            "options": self.options,
        }


@dataclass
class KeyLine:
    """The ``key: {column: ...}`` line: written when the target's own key cannot be made from
    the file (``active``), else proposed commented out, with why."""

    column: str
    reason: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``syncer init --json``)."""
        return {"column": self.column, "reason": self.reason, "active": self.active}


@dataclass
class Proposal:
    """A proposed mapping for one file and target."""

    target: str
    layout: Layout | None
    columns: list[str]
    sampled_rows: int
    chosen: list[Choice] = dataclasses.field(default_factory=list)
    commented: list[Line] = dataclasses.field(default_factory=list)
    region: str | None = None
    region_reason: str | None = None
    checks: list[str] = dataclasses.field(default_factory=list)
    profiles: dict[str, Profile] = dataclasses.field(default_factory=dict)
    #: why each column that looked like the e-mail was refused
    email_refusals: dict[str, str] = dataclasses.field(default_factory=dict)
    #: the external key line (targets whose key may be a column), if the file has an id column
    key: KeyLine | None = None

    def chosen_for(self, name: str) -> Choice | None:
        """The accepted line of field ``name``, if any."""
        return next((c for c in self.chosen if c.field == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the proposal (``syncer init --json``)."""
        layout = self.layout
        return {
            "target": self.target,
            "layout": {"name": layout.name, "label": layout.label, "sources": list(layout.sources)}
            if layout
            else None,
            "sampled_rows": self.sampled_rows,
            "key": self.key.to_dict() if self.key else None,
            "fields": [c.to_dict() for c in self.chosen],
            "commented": [c.to_dict() for c in self.commented],
            "default_region": {"region": self.region, "reason": self.region_reason}
            if self.region
            else None,
            "check": list(self.checks),
        }


def listed_columns(columns: list[str], limit: int = 40) -> str:
    """``"A", "B", ... (12 more)``: a file's columns for a message."""
    listed = ", ".join(f'"{c}"' for c in columns[:limit]) or "(none)"
    if len(columns) > limit:
        listed += f" ... ({len(columns) - limit} more)"
    return listed
