"""The targets syncer can import rows into: one module each, behind this small registry.

Each module of this package declares one :class:`~syncer.targets.base.Target` (see
``base.py``): fields, key, custom sections, endpoint, permissions, id columns, preflight probes
and how one row is pushed. Mapping, validation, preflight, push, results, ledger and ``syncer
fields``/``schema``/``init`` read it from here; none keeps a table of its own.

A new target is a new module beside ``account_contact.py`` plus its line in :data:`_SHIPPED`
(docs/adding-a-target.md). :func:`register` adds one at run time (tests); a target registered
after :mod:`syncer.mapping` is imported may only use custom sections a shipped target declares.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from syncer.errors import ConfigError
from syncer.targets import (
    account_contact,
    accounts,
    manual_activities,
    opportunities,
    sequence_enrollments,
    tasks,
)
from syncer.targets.base import CustomSection, FieldKind, IdColumn, Target

__all__ = [
    "DEFAULT",
    "TARGETS",
    "CustomSection",
    "FieldKind",
    "IdColumn",
    "Target",
    "custom_sections",
    "every",
    "get",
    "names",
    "register",
    "registered",
    "suggest",
]

#: every shipped target, in the order ``syncer fields`` lists them: a new target goes here
_SHIPPED: tuple[Target, ...] = (
    account_contact.TARGET,
    accounts.TARGET,
    opportunities.TARGET,
    tasks.TARGET,
    manual_activities.TARGET,
    sequence_enrollments.TARGET,
)

#: the target of a mapping without ``target:``
DEFAULT = "account_contact"

_registry: dict[str, Target] = {}

#: every registered target by name (a read-only, live view)
TARGETS: Mapping[str, Target] = MappingProxyType(_registry)


def register(target: Target) -> Target:
    """Add ``target``; ValueError when its name is taken."""
    if target.name in _registry:
        raise ValueError(f"a target named {target.name!r} is registered already")
    _registry[target.name] = target
    return target


@contextmanager
def registered(target: Target) -> Iterator[Target]:
    """``with registered(toy):`` the target is known inside the block only (tests)."""
    register(target)
    try:
        yield target
    finally:
        del _registry[target.name]


def names() -> list[str]:
    """The registered targets' names, shipped ones first in :data:`_SHIPPED` order."""
    return list(_registry)


def every() -> list[Target]:
    """Every registered target, in :func:`names` order."""
    return list(_registry.values())


def suggest(name: str) -> str:
    """``; did you mean X?`` for the closest target name, else ``""``."""
    close = difflib.get_close_matches(name, names(), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def get(name: str) -> Target:
    """The target called ``name``; ConfigError naming the known ones (and the closest)."""
    target = _registry.get(name)
    if target is None:
        raise ConfigError(
            f"unknown target {name!r}{suggest(name) or '.'} Known targets: {', '.join(names())} "
            "(`syncer fields` lists them all).",
            code="usage",
            hint="Run `syncer fields` to see every target and its fields.",
        )
    return target


def custom_sections() -> tuple[str, ...]:
    """Every custom-field section any registered target takes, each once, in target order."""
    return tuple(dict.fromkeys(s for t in _registry.values() for s in t.custom_sections))


for _target in _SHIPPED:
    register(_target)
