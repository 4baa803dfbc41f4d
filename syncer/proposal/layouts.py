"""Known export layouts (one YAML file per tool in ``layouts/``): which header feeds which Reevo
field, the headers a layout is recognised by, and the options it needs.

A layout file holds ``name``, ``label``, ``sources`` (where its headers come from),
``signature`` + ``min_signature`` (how many of those headers a file must have), ``fields``
(Reevo field -> headers, best first), ``known`` (its other headers: left unmapped, never guessed
at), and optionally ``multi_value_separator``, ``multi_value`` (header -> separator),
``footer`` and ``notes``. ``target`` (default ``account_contact``) is the target whose fields
``fields`` names (a lookup by one of its forms is ``<field>.<form>``: ``account.name``), and
``key_columns`` the headers holding the tool's own record id (an external key). Adding a tool
is adding a file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["Layout", "detect", "header_key", "layouts"]


def header_key(header: str) -> str:
    """How layouts compare headers: no BOM, case or surrounding/repeated spaces."""
    return " ".join(header.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True, slots=True)
class Layout:
    """One known export layout (see the module docstring)."""

    name: str
    label: str
    target: str
    sources: tuple[str, ...]
    signature: tuple[str, ...]
    min_signature: int
    fields: dict[str, tuple[str, ...]]
    known: tuple[str, ...]
    multi_value_separator: str | None
    multi_value: dict[str, str]
    footer: str | None
    notes: tuple[str, ...]
    key_columns: tuple[str, ...] = ()

    def headers(self) -> set[str]:
        """Every header the layout knows, as :func:`header_key` gives them."""
        names = [h for hs in self.fields.values() for h in hs]
        names += [*self.known, *self.key_columns]
        return {header_key(h) for h in names}

    def separator_for(self, header: str) -> str | None:
        """The multi-value separator of ``header`` in this layout, if it has one."""
        for name, sep in self.multi_value.items():
            if header_key(name) == header_key(header):
                return sep
        return self.multi_value_separator


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in data.get(key) or ())


def _load(name: str, text: str) -> Layout:
    data: dict[str, Any] = yaml.safe_load(text)
    return Layout(
        name=str(data.get("name", name)),
        label=str(data["label"]),
        target=str(data.get("target", "account_contact")),
        sources=_strings(data, "sources"),
        signature=_strings(data, "signature"),
        min_signature=int(data.get("min_signature", 1)),
        fields={str(k): tuple(str(h) for h in v) for k, v in (data.get("fields") or {}).items()},
        known=_strings(data, "known"),
        multi_value_separator=data.get("multi_value_separator"),
        multi_value={str(k): str(v) for k, v in (data.get("multi_value") or {}).items()},
        footer=data.get("footer"),
        notes=_strings(data, "notes"),
        key_columns=_strings(data, "key_columns"),
    )


@functools.cache
def layouts() -> tuple[Layout, ...]:
    """Every layout shipped in ``syncer/proposal/layouts/``, by file name."""
    folder = resources.files("syncer.proposal").joinpath("layouts")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return tuple(_load(f.name.removesuffix(".yaml"), f.read_text("utf-8")) for f in files)


def detect(headers: list[str], target: str | None = "account_contact") -> Layout | None:
    """The layout ``headers`` come from: among layouts of ``target`` (None: of any target) with
    at least ``min_signature`` of their signature headers, the one that knows most of the
    file's headers."""
    have = {header_key(h) for h in headers}
    best: tuple[int, int, Layout] | None = None
    for layout in layouts():
        if target is not None and layout.target != target:
            continue
        signed = sum(1 for h in layout.signature if header_key(h) in have)
        if signed < layout.min_signature:
            continue
        hits = len(have & layout.headers())
        if best is None or (hits, signed) > best[:2]:
            best = (hits, signed, layout)
    return best[2] if best is not None else None
