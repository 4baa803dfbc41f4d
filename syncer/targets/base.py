"""What a target is: the declaration a target module makes, and the contract its push keeps.

A *target* is what the rows of one mapping become in Reevo (``target:`` in the mapping). All that
syncer knows about one lives in one module, ``syncer/targets/<name>.py``, as one :class:`Target`:
its Reevo fields and their kinds, which are required, the key and how it is normalised, its
custom-field sections, the endpoint it writes and whether repeating a write is safe, the
permissions it needs, its id columns and where each id is in an answer, its preflight probes,
and :attr:`Target.push`: how one row is sent, through a :class:`RowContext` that paces,
retries and counts every request (the worker pool in :mod:`syncer.push`).

Pure data and small pure functions: no network, no Reevo client, no sandbox, no runner (the
pipeline imports this; tests/test_architecture.py holds it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

if TYPE_CHECKING:  # key_expr works on expressions it is given: polars is not loaded here
    import polars as pl

__all__ = [
    "CustomSection",
    "FieldKind",
    "IdColumn",
    "Probe",
    "PushFn",
    "ReadBack",
    "Row",
    "RowContext",
    "SideWrite",
    "Target",
    "digest",
    "field_digests",
    "find_ids",
    "lowercase",
]


class FieldKind(StrEnum):
    """How a Reevo field's value is normalised and checked."""

    TEXT = "text"  # trimmed, NFC
    EMAIL = "email"  # trimmed, NFC, e-mail syntax; the upsert key
    OWNER_EMAIL = "owner_email"  # e-mail syntax of a Reevo user
    PHONE = "phone"  # E.164 when the mapping says format: e164
    URL = "url"  # https:// added when there is no scheme, then checked
    DOMAIN = "domain"  # a web domain: lowercased, no scheme, no www., no path
    CONTACT_EMAIL = "contact_email"  # e-mail syntax of a contact (not the key)
    CONTACT_EMAILS = "contact_emails"  # a list of contact e-mails (split: in the mapping)
    DECIMAL = "decimal"  # an amount: currency symbols, either thousands convention -> a number
    DATETIME = "datetime"  # a zone-required timestamp; the mapping gives timezone:
    TEXT_LIST = "text_list"  # a list of texts (split: in the mapping)
    LOOKUP = "lookup"  # another object found by one of its keys: account: {domain: Column}
    #: other objects found by one key each: contacts: {email: Column, split: ";"}
    LOOKUP_LIST = "lookup_list"
    ENUM = "enum"  # one of the values the target lists (Target.enums): any case, sent upper-case


@dataclass(frozen=True, slots=True)
class CustomSection:
    """A mapping section of custom fields (``cus_field__...: Column``) and where they go."""

    #: the mapping file's key for the section, e.g. ``contact_custom_fields``
    name: str
    #: the request body key its fields are sent under (usually the same)
    body_key: str
    #: the Reevo object whose custom fields these are: ``contact``, ``account``...
    object: str
    #: one line for the mapping schema
    description: str


#: what an id column must be called: results reserve ``reevo_<object>_id`` for syncer's own
_ID_COLUMN = re.compile(r"reevo_\w+_id")


@dataclass(frozen=True, slots=True)
class IdColumn:
    """One id Reevo gives a row: its name, its results column, where an answer holds it."""

    #: its name in ``RowOutcome.ids`` and the ledger's ``ids`` JSON, e.g. ``contact_id``
    name: str
    #: its column in the results file, e.g. ``reevo_contact_id``
    column: str
    #: a top-level key of the answer holding it (``{"contact_id": ...}``), tried first
    key: str
    #: or the key of a nested object holding it as ``id`` (``{"contact": {"id": ...}}``)
    nested: str | None = None

    def __post_init__(self) -> None:
        if not _ID_COLUMN.fullmatch(self.column):
            raise ValueError(f"id column {self.column!r} must be named reevo_<object>_id")


@dataclass(frozen=True, slots=True)
class Probe:
    """A preflight request Reevo must refuse as invalid (a 4xx about the body) once it has
    checked the key and its permissions: nothing is written, the permission is proven."""

    method: str
    path: str
    json: Mapping[str, Any] = field(default_factory=dict)
    #: sent only when the mapping maps this field (``account``), or has this option value
    #: (``on_missing_account=create``); None: always
    when: str | None = None

    def needed(self, mapped: Collection[str], options: Mapping[str, str]) -> bool:
        """Whether a mapping that maps ``mapped`` with ``options`` needs this probe."""
        if self.when is None:
            return True
        name, _, value = self.when.partition("=")
        return options.get(name) == value if value else name in mapped


@dataclass(frozen=True, slots=True)
class SideWrite:
    """A write a row makes to another object only when the mapping asks for it (the account
    ``on_missing_account: create`` makes): its endpoint, the permission it needs and when."""

    method: str
    path: str
    permission: str
    #: as :attr:`Probe.when`: ``on_missing_account=create``
    when: str


@dataclass(frozen=True, slots=True)
class ReadBack:
    """How to tell whether a new key sees an org the ledger knows: read a remembered id."""

    #: the id to read back (a name of :class:`IdColumn`)
    id_name: str
    #: the GET path, with ``{id}`` where the (percent-encoded) id goes
    path: str
    #: what the ids are, for messages: ``contacts``
    what: str
    #: the permission a key needs to read them, as Reevo's page names it
    permission: str

    def path_for(self, id_: str) -> str:
        """The GET path reading ``id_`` (percent-encoded as one path segment)."""
        return self.path.format(id=quote(str(id_), safe=""))


@dataclass(frozen=True, slots=True)
class Row:
    """One ready row as a target's push gets it."""

    source_row: int
    key: str  # the normalised key (``Target.key_expr`` of the key field)
    body: dict[str, Any]  # the exact JSON body the mapping makes of the row
    #: what the ledger remembers of the key: ids (``IdColumn`` names) and the target's own
    #: notes given to ``ctx.remember`` (e.g. :func:`field_digests`); empty for a new key
    known: Mapping[str, str] = field(default_factory=dict)
    #: --full: send every field, whatever ``known`` says was sent before
    full: bool = False

    def changed(self, body: Mapping[str, Any] | None = None) -> list[str]:
        """The top-level fields of ``body`` (default: the row's) whose value differs from
        what the ledger says was last accepted (:func:`field_digests`); all of them when
        nothing is known or with --full. A field the row no longer has is not listed."""
        body = self.body if body is None else body
        if self.full:
            return list(body)
        return [k for k, v in body.items() if self.known.get(_DIGEST + k) != digest(v)]


#: prefix of the field digests a target remembers (``ctx.remember(field_digests(body))``)
_DIGEST = "f:"


def digest(value: Any) -> str:
    """A short, stable digest of one JSON value (canonical JSON, sha256, 16 hex digits)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def field_digests(body: Mapping[str, Any]) -> dict[str, str]:
    """``{"f:<field>": digest}`` per top-level field of ``body``: what a create-or-update
    target remembers so that a later run PATCHes only the fields that changed."""
    return {_DIGEST + k: digest(v) for k, v in body.items()}


class RowContext(Protocol):
    """What a target's push may do for one row (given by the worker pool)."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """Send one request: paced, retried by the run's policy (a request that is not
        ``idempotent`` is never sent again once Reevo may have applied it), counted on the row.
        Returns the decoded 2xx answer; raises ``RowRejected`` (the row fails), ``Retryable``
        (retries ran out) or ``RunAborted`` (the run stops)."""
        ...

    def remember(self, ids: Mapping[str, str]) -> None:
        """Keep ids Reevo gave the row (``IdColumn`` names): they reach the results and the
        ledger even when a later request of the row fails, so nothing is created twice."""
        ...

    def warn(self, code: str, message: str) -> None:
        """Add a row warning (a change made to a row that still goes through)."""
        ...

    @property
    def options(self) -> Mapping[str, str]:
        """The mapping's values of the target's :attr:`Target.options` (defaults filled in)."""
        ...

    def known_ids(self, target: str, key: str) -> Mapping[str, str]:
        """What the ledger remembers of ``key`` of another ``target`` in this org (empty when
        nothing): how a lookup finds what an earlier step or run created, without a request."""
        ...

    def taken(self, id_name: str, id_: str) -> bool:
        """True when ``id_`` (an ``IdColumn`` name's value) belongs to another key of this
        target, in the ledger or in this run: a search match that must not be adopted."""
        ...

    async def once(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        """``await make()`` once per run for ``key`` (e.g. ``("account", "domain", d)``); rows
        asking for the same key while it runs wait for it and share its answer. A failure is
        not kept: the next row asking tries again."""
        ...

    def remember_other(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        """Record in the ledger an object of another ``target`` this row created (e.g. the
        account ``on_missing_account: create`` made), so no later run creates it again."""
        ...


#: how one row is pushed: any number of ``ctx.request`` calls; ids go to ``ctx.remember``
PushFn = Callable[[RowContext, Row], Awaitable[None]]


def lowercase(value: pl.Expr) -> pl.Expr:
    """A key normalisation: lowercased (Reevo matches e-mails case-insensitively)."""
    return value.str.to_lowercase()


@dataclass(frozen=True)
class Target:
    """Everything syncer knows about one target (see the module docstring)."""

    #: the mapping's ``target:`` value
    name: str
    #: what a row does, after the name: ``account_contact upserts a contact by e-mail``
    summary: str
    #: Reevo field -> its kind, in the order the schema and ``syncer fields`` list them
    fields: Mapping[str, FieldKind]
    #: fields every mapping must map (and every row must have)
    required: tuple[str, ...]
    #: the field whose normalised value is the dedupe and ledger key
    key_field: str
    #: how messages name the key: "same {key_label} ..." (``e-mail``)
    key_label: str
    #: the custom-field sections a mapping of this target may have
    custom: tuple[CustomSection, ...]
    #: the endpoint one row writes, as ``(method, path)``
    endpoint: tuple[str, str]
    #: True when writing the same row again is safe (an upsert)
    idempotent: bool
    #: permissions a key needs to push rows, as Reevo's page names them
    write_permissions: tuple[str, ...]
    #: permissions its lookups need (none for a target that only writes)
    read_permissions: tuple[str, ...]
    #: the ids a row gets, in results-column order
    id_columns: tuple[IdColumn, ...]
    #: what preflight sends (in order) to prove the key may do what the push does
    probes: tuple[Probe, ...]
    #: how one row is sent
    push: PushFn
    #: the key's normal form from the key field's normalised value (a polars expression)
    key_expr: Callable[[pl.Expr], pl.Expr] = lowercase
    #: how a rotated key is recognised as the same org (None: not by this target's ids)
    read_back: ReadBack | None = None
    #: the row's key from its normalised fields (field name -> value expression; fields the
    #: mapping does not map are absent); null: the row has no key (``missing_key``). None: the
    #: key field's :attr:`key_expr`
    key_of: Callable[[Mapping[str, pl.Expr]], pl.Expr] | None = None
    #: how messages name a row without a key: ``no domain: map domain_name or official_website``
    key_missing: str = ""
    #: the named keys ``key:`` may give (the first is the default), besides ``{column: ...}``
    key_names: tuple[str, ...] = ()
    #: how ``syncer fields`` describes a default key that has no name (``display_name +
    #: account``); a named key (:attr:`key_names`) describes itself
    key_text: str = ""
    #: True when ``key: {column: External ID}`` may replace the default key
    external_key: bool = False
    #: LOOKUP field -> the forms the mapping may give it (``account: {domain: Column}``)
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: groups of fields of which a mapping maps one and each row has one, and the code of a row
    #: that has none: ``((("account", "account_id"), "missing_account"),)``
    one_of: tuple[tuple[tuple[str, ...], str], ...] = ()
    #: top-level mapping options the target takes -> allowed values (the first is the default)
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: every (method, path) a row may write, for the contract test (default: :attr:`endpoint`)
    endpoints: tuple[tuple[str, str], ...] = ()
    #: False for a create-only object (tasks, activities, enrollments: the API has no update):
    #: a key created before is never sent again, a changed body is ``cannot_update``
    updatable: bool = True
    #: every (method, path) a row may read: searches, and GETs checking an id still exists
    reads: tuple[tuple[str, str], ...] = ()
    #: writes to other objects a mapping may ask for (each with a probe of the same ``when``)
    side_writes: tuple[SideWrite, ...] = ()
    #: field -> its name in Reevo's requests where the mapping's differs (``stage`` ->
    #: ``target_stage_name``); None: the field is syncer's own (a lookup) and never sent
    wire: Mapping[str, str | None] = field(default_factory=dict)
    #: ENUM field -> the values Reevo takes, as it spells them (``("URGENT", "HIGH", ...)``)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = [f for f in (*self.required, self.key_field) if f not in self.fields]
        if problems:
            raise ValueError(f"target {self.name}: {problems} are not among its fields")
        enums = {f for f, k in self.fields.items() if k is FieldKind.ENUM}
        if enums != set(self.enums):
            raise ValueError(f"target {self.name}: enums must list the values of {enums}")
        if self.read_back and self.read_back.id_name not in {c.name for c in self.id_columns}:
            raise ValueError(f"target {self.name}: read_back names an id it does not have")

    @property
    def writes(self) -> tuple[tuple[str, str], ...]:
        """Every (method, path) a row may write."""
        return self.endpoints or (self.endpoint,)

    @property
    def custom_sections(self) -> tuple[str, ...]:
        """The names of its custom-field sections, in order."""
        return tuple(c.name for c in self.custom)

    @property
    def result_columns(self) -> tuple[str, ...]:
        """Its id columns in the results file, in order."""
        return tuple(c.column for c in self.id_columns)

    def ids_in(self, data: Any) -> dict[str, str]:
        """The ids of :attr:`id_columns` found in a Reevo answer (see :func:`find_ids`)."""
        return find_ids(data, self.id_columns)


def find_ids(data: Any, columns: tuple[IdColumn, ...]) -> dict[str, str]:
    """Each id of ``columns`` found in an answer, by name: under its key, else as the ``id``
    of its nested object; when none is found at the top, inside ``data`` (an envelope)."""
    found: dict[str, str] = {}
    if not isinstance(data, dict):
        return found
    for col in columns:
        value = _scalar(data, col.key)
        if value is None and col.nested is not None:
            inner = data.get(col.nested)
            value = _scalar(inner, "id") if isinstance(inner, dict) else None
        if value is not None:
            found[col.name] = value
    envelope = data.get("data")
    if not found and isinstance(envelope, dict):
        return find_ids(envelope, columns)
    return found


def _scalar(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and value != "" else None
