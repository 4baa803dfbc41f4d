"""YAML mapping files -> :class:`Mapping` (pydantic), with file:line errors and "did you mean".

A mapping says which Reevo field each source column feeds. The Reevo fields a target accepts,
what kind of value each holds and its custom-field sections come from the target registry
(:mod:`syncer.targets`, re-exported here as :data:`TARGETS`); a new target is a new module there.
So do the rest of a target's contract the mapping checks: its ``key:`` forms (``key: domain``,
``key: {column: ...}``), its top-level options (``on_ambiguous: fail|first``...), its lookup
fields and their forms (``account: {domain: Column}``), and the groups of fields of which one
must be mapped (``account`` or ``account_id``).

- :mod:`.vocabulary`: what the registered targets let a mapping say (sections, lookup forms,
  options, list kinds), ``closed_stage``, ``is_essential``, zone names
- :mod:`.models`: the pydantic models (``Mapping``, ``FieldSpec``, ``KeySpec``, ``SourceSpec``,
  ``DedupeSpec``)
- :mod:`.checks`: unknown keys with "did you mean", and the target's rules
- :mod:`.problems`: a problem's line and text, and the one error listing them
- :mod:`.reading`: ``read_mapping`` / ``MappingDraft``, ``load_mapping``
- :mod:`.columns`: the mapping's columns against a file's headers (``resolve_columns``,
  ``absent_optional``)
"""

from __future__ import annotations

from syncer.mapping.columns import absent_optional, resolve_columns
from syncer.mapping.models import DedupeSpec, FieldSpec, Mapping, SourceSpec
from syncer.mapping.models import KeySpec as KeySpec
from syncer.mapping.models import NullValues as NullValues
from syncer.mapping.models import Owners as Owners
from syncer.mapping.models import TopOwners as TopOwners
from syncer.mapping.problems import Problem as Problem
from syncer.mapping.reading import MappingDraft, load_mapping, read_mapping
from syncer.mapping.vocabulary import FIELD_SECTIONS as FIELD_SECTIONS
from syncer.mapping.vocabulary import LIST_KINDS as LIST_KINDS
from syncer.mapping.vocabulary import LOOKUP_FORMS as LOOKUP_FORMS
from syncer.mapping.vocabulary import TARGET_OPTIONS as TARGET_OPTIONS
from syncer.mapping.vocabulary import TargetSpec, closed_stage, is_essential
from syncer.nulls import DEFAULT_NULL_VALUES
from syncer.targets import TARGETS, FieldKind

__all__ = [
    "DEFAULT_NULL_VALUES",
    "TARGETS",
    "DedupeSpec",
    "FieldKind",
    "FieldSpec",
    "Mapping",
    "MappingDraft",
    "SourceSpec",
    "TargetSpec",
    "absent_optional",
    "closed_stage",
    "is_essential",
    "load_mapping",
    "read_mapping",
    "resolve_columns",
]
