"""The canonical JSON text of request bodies, built as polars expressions (no Python per row).

The canonical text of a body is ``json.dumps(body, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``: what the ledger hashes (:func:`syncer.ledger.body_hash`) and, parsed
back with ``json.loads`` (which keeps its sorted key order), exactly the bytes httpx sends
(``ensure_ascii=False``, the same separators). :func:`body_texts` writes that text for every row
of a frame at once; only amounts that are not plain decimals (rare: ``1e-05``, 16+ significant
digits, a value ``on_invalid: warn`` kept as written) go through Python, once per distinct value.
:func:`sha256_hex` hashes a column of texts (the ``polars-hash`` plugin, hashlib without it).
:func:`values_hash` and :func:`body_recipe` say, without writing any text, whether two rows' bodies
are the same: the same values under the same recipe give the same text
(:mod:`syncer.runner.digest_memo` keeps digests by them).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from syncer.amounts import to_json_number

__all__ = [
    "CANONICAL_VERSION",
    "BodyField",
    "amount",
    "body_recipe",
    "body_texts",
    "canonical_text",
    "json_string",
    "sha256_hex",
    "values_hash",
]

#: the version of the text :func:`body_texts` writes: raise it whenever the text of any body
#: could change (remembered digests, :func:`body_recipe`, are then not used)
CANONICAL_VERSION = 1
#: the seeds of :func:`values_hash`'s two 64-bit hashes
_SEEDS = (0x5EED_0001, 0x5EED_0002)


@dataclass(frozen=True, slots=True)
class BodyField:
    """One value of a request body: where it is in the frame and how it is written."""

    #: the frame column holding the normal value (String, or List(String) for a list)
    column: str
    #: its key in the body (or in its section's object)
    name: str
    #: the body key of the object it goes under (custom fields), None: at the top
    section: str | None = None
    #: a lookup is sent as ``{form: value}`` (``"account": {"domain": "acme.com"}``)
    form: str | None = None
    #: a JSON number (an int when integral); a value that is not one stays text
    amount: bool = False
    #: a blank value is sent as "" (``on_empty: clear``), unless ``on_invalid: drop`` dropped it
    clear: bool = False


def canonical_text(body: Any) -> str:
    """The canonical JSON text of a body built in Python (the reference :func:`body_texts`
    matches)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def amount(value: str) -> int | float | str:
    """An amount as a JSON number; one ``on_invalid: warn`` kept as written stays text."""
    try:
        return to_json_number(value)
    except ValueError:
        return value


#: what ``json.dumps(..., ensure_ascii=False)`` escapes in a string, and how
_ESCAPED = ['"', "\\", *map(chr, range(0x20))]
_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES = [_SHORT.get(c, f"\\u{ord(c):04x}") for c in _ESCAPED]
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'

#: amounts whose JSON number is their own text: an integer (any size: Python ints are exact);
#: a decimal without trailing zeros whose float repr is the same digits (at most 15 significant
#: digits, and not below 1e-4, where repr turns to an exponent)
_PLAIN_INT = r"^(?:0|-?[1-9][0-9]*)$"
_PLAIN_DECIMAL = r"^-?(?:[1-9][0-9]*\.[0-9]*[1-9]|0\.0{0,3}[1-9](?:[0-9]*[1-9])?)$"
_MAX_DIGITS = 15


def json_string(value: pl.Expr) -> pl.Expr:
    """A String expression as a JSON string literal (quoted, escaped as json.dumps does with
    ``ensure_ascii=False``: ``"`` ``\\`` and the control characters below U+0020 only)."""
    escaped = (
        pl.when(value.str.contains(_NEEDS_ESCAPE))
        .then(value.str.replace_many(_ESCAPED, _ESCAPES))
        .otherwise(value)
    )
    return pl.concat_str([pl.lit('"'), escaped, pl.lit('"')])


def _key(name: str) -> str:
    """``"name":``."""
    return json.dumps(name, ensure_ascii=False) + ":"


def _fragment(frame: pl.DataFrame, f: BodyField, dropped: pl.Expr | None) -> pl.Expr:
    """``"name":<value>`` for ``f`` in a row, escaped; null when the body leaves it out."""
    col = pl.col(f.column)
    if isinstance(frame.schema[f.column], pl.List):
        items = json_string(pl.element().cast(pl.String)).fill_null("null")
        value = [pl.lit("["), col.list.eval(items).list.join(","), pl.lit("]")]
    else:
        col = col.cast(pl.String)
        value = [_amount_text(frame, col) if f.amount else json_string(col)]
    if f.form is not None:
        value = [pl.lit("{" + _key(f.form)), *value, pl.lit("}")]
    text = pl.concat_str([pl.lit(_key(f.name)), *value])
    if not f.clear:
        return text
    blank = pl.lit(_key(f.name) + '""')
    cleared = blank if dropped is None else pl.when(~dropped.list.contains(f.column)).then(blank)
    return pl.when(col.is_not_null()).then(text).otherwise(cleared)


def _plain_amount(col: pl.Expr) -> pl.Expr:
    """Whether an amount's text is how Python writes its JSON number."""
    digits = col.str.replace_all(r"[-.]", "", literal=False).str.len_chars()
    return col.str.contains(_PLAIN_INT) | (
        col.str.contains(_PLAIN_DECIMAL) & (digits <= _MAX_DIGITS)
    )


def _amount_text(frame: pl.DataFrame, col: pl.Expr) -> pl.Expr:
    """An amount's JSON text: its own text when that is how Python writes the number, else
    json.dumps of :func:`amount` (computed once per distinct such value)."""
    plain = _plain_amount(col)
    odd = frame.select(col.filter(col.is_not_null() & ~plain).unique()).to_series().to_list()
    if not odd:
        return col
    texts = [json.dumps(amount(v), ensure_ascii=False) for v in odd]
    other = col.replace_strict(odd, texts, default=None, return_dtype=pl.String)
    return pl.when(plain).then(col).otherwise(other)


def _body(frame: pl.DataFrame, fields: Sequence[BodyField], dropped: pl.Expr | None) -> pl.Expr:
    """The canonical text of each row's body, field by field, escaping (see
    :func:`body_texts`)."""
    entries: dict[str, pl.Expr] = {}
    sections: dict[str, dict[str, pl.Expr]] = {}
    for f in fields:
        fragment = _fragment(frame, f, dropped)
        if f.section is None:
            entries[f.name] = fragment
        else:
            sections.setdefault(f.section, {})[f.name] = fragment
    for section, inner in sections.items():
        parts = [inner[n] for n in sorted(inner)]
        members = pl.concat_str(parts, separator=",", ignore_nulls=True)
        entries[section] = (
            pl.when(pl.any_horizontal([p.is_not_null() for p in parts]))
            .then(pl.concat_str([pl.lit(_key(section) + "{"), members, pl.lit("}")]))
            .otherwise(None)
        )
    if not entries:
        return pl.repeat(pl.lit("{}"), pl.len())
    members = pl.concat_str([entries[n] for n in sorted(entries)], separator=",", ignore_nulls=True)
    return pl.concat_str([pl.lit("{"), members, pl.lit("}")])


#: a field's state in a row (:func:`_states`): left out, its value, "" (cleared), an empty list
_OUT, _VALUE, _CLEARED, _EMPTY = 0, 1, 2, 3


def _states(
    frame: pl.DataFrame, fields: Sequence[BodyField], dropped: pl.Expr | None
) -> list[pl.Expr]:
    """Per field, its state in each row (``_OUT``... as UInt8)."""
    out = []
    for i, f in enumerate(fields):
        col = pl.col(f.column)
        value: pl.Expr = pl.lit(_VALUE)
        if isinstance(frame.schema[f.column], pl.List):
            value = pl.when(col.list.len() == 0).then(pl.lit(_EMPTY)).otherwise(value)
        blank: pl.Expr = pl.lit(_OUT)
        if f.clear:
            keep = pl.lit(True) if dropped is None else ~dropped.list.contains(f.column)
            blank = pl.when(keep).then(pl.lit(_CLEARED)).otherwise(blank)
        state = pl.when(col.is_not_null()).then(value).otherwise(blank)
        out.append(state.cast(pl.UInt8).alias(f"__s{i}"))
    return out


def _template(frame: pl.DataFrame, fields: Sequence[BodyField], states: Sequence[int]) -> pl.Expr:
    """For rows whose fields are in ``states`` and need no escaping: their body in one
    concatenation (no column per field)."""
    entries: dict[str, list[str | pl.Expr]] = {}
    sections: dict[str, dict[str, list[str | pl.Expr]]] = {}
    for f, state in zip(fields, states, strict=True):
        if state == _OUT:
            continue
        col = pl.col(f.column)
        value: list[str | pl.Expr]
        if state == _CLEARED:
            value = ['""']
        elif state == _EMPTY:
            value = ["[]"]
        elif isinstance(frame.schema[f.column], pl.List):
            value = ['["', col.list.join('","', ignore_nulls=False), '"]']
        elif f.amount:
            value = [_amount_text(frame, col.cast(pl.String))]
        else:
            value = ['"', col.cast(pl.String), '"']
        if f.form is not None and state != _CLEARED:
            value = ["{" + _key(f.form), *value, "}"]
        piece = [_key(f.name), *value]
        if f.section is None:
            entries[f.name] = piece
        else:
            sections.setdefault(f.section, {})[f.name] = piece
    for section, inner in sections.items():
        members = _joined([inner[n] for n in sorted(inner)])
        entries[section] = [_key(section) + "{", *members, "}"]
    pieces = ["{", *_joined([entries[n] for n in sorted(entries)]), "}"]
    merged: list[str | pl.Expr] = []
    for p in pieces:  # neighbouring literals as one
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


def _joined(items: list[list[str | pl.Expr]]) -> list[str | pl.Expr]:
    out: list[str | pl.Expr] = []
    for i, item in enumerate(items):
        out.extend([","] if i else [])
        out.extend(item)
    return out


def _dirty(frame: pl.DataFrame, fields: Sequence[BodyField]) -> pl.Expr:
    """Per row: some text needs escaping, a list holds a null, or an amount is not a plain
    number (such rows are written field by field, :func:`_body`)."""
    special = _ESCAPED
    flags: list[pl.Expr] = [pl.lit(False)]
    for f in fields:
        col = pl.col(f.column)
        if isinstance(frame.schema[f.column], pl.List):
            joined = col.cast(pl.List(pl.String)).list.join("", ignore_nulls=False)
            flags += [joined.str.contains_any(special), col.is_not_null() & joined.is_null()]
        elif f.amount:
            flags.append(~_plain_amount(col.cast(pl.String)))
        else:
            flags.append(col.cast(pl.String).str.contains_any(special))
    return pl.any_horizontal(flags).fill_null(False).alias("__dirty")


def body_texts(
    frame: pl.DataFrame, fields: Sequence[BodyField], *, dropped: str | None = None, sep: str = ""
) -> pl.Series:
    """The canonical JSON text of each row's body (keys sorted), a String series ``body``.

    A field whose value is null is left out (or sent as "" when it ``clear``\\ s, unless its
    column is named in the ``dropped`` column, a list joined by ``sep``); a section whose
    fields are all left out is left out too.

    Rows are grouped by which fields they send (few groups); each group's bodies are one
    concatenation of its values between literal keys and quotes (:func:`_template`). Rows
    with a value JSON must escape (:func:`_dirty`: rare) are written field by field."""
    gone = None
    if dropped is not None and dropped in frame.columns and any(f.clear for f in fields):
        gone = pl.col(dropped).fill_null("").str.split(sep)
    if frame.height == 0 or not fields:
        return frame.select(_body(frame, fields, gone).alias("body")).to_series()
    marked = frame.with_row_index("__i").with_columns(
        *_states(frame, fields, gone), _dirty(frame, fields)
    )
    keys = [*(f"__s{i}" for i in range(len(fields))), "__dirty"]
    written = []
    for (*states, dirty), part in marked.group_by(keys):
        if dirty:
            body = _body(part, fields, gone)
        else:
            body = _template(part, fields, [int(s) for s in states])
        written.append(part.select("__i", body.alias("body")))
    return pl.concat(written).sort("__i").get_column("body")


def sha256_hex(texts: pl.Series) -> pl.Series:
    """sha256 (hex) of each text's UTF-8 bytes, as :func:`syncer.ledger.body_hash` gives it;
    null stays null. The ``polars-hash`` plugin (Rust, on polars' threads); hashlib when it
    cannot be loaded."""
    if not _plugin_works():
        return sha256_hex_python(texts)
    import polars_hash

    frame = pl.DataFrame({"t": texts})
    return frame.select(polars_hash.col("t").chash.sha2_256()).to_series().alias(texts.name)


@functools.cache
def _plugin_works() -> bool:
    """Whether ``polars-hash`` loads and agrees with hashlib (a plugin built for another
    polars may fail to load): checked once per process."""
    probe = pl.Series("t", ["", 'é\u2028\x00{"a":1}'])
    try:
        import polars_hash

        got = pl.DataFrame({"t": probe}).select(polars_hash.col("t").chash.sha2_256())
    except Exception:
        return False
    return got.to_series().to_list() == sha256_hex_python(probe).to_list()


def sha256_hex_python(texts: pl.Series) -> pl.Series:
    """:func:`sha256_hex` with hashlib (one call per row)."""
    sha = hashlib.sha256
    out = [None if t is None else sha(t).hexdigest() for t in texts.cast(pl.Binary).to_list()]
    return pl.Series(texts.name, out, dtype=pl.String)


def values_hash(frame: pl.DataFrame) -> pl.DataFrame:
    """Two 64-bit hashes (``__h1``, ``__h2``: polars' row hash with two seeds) of each row of
    ``frame``: rows with the same values in the same columns have the same pair; a pair shared
    by rows with different values is a 128-bit collision. Stable within one polars version
    only (:func:`body_recipe` names it)."""
    first, second = (frame.hash_rows(seed=seed) for seed in _SEEDS)
    return pl.DataFrame([first.alias("__h1"), second.alias("__h2")])


def body_recipe(frame: pl.DataFrame, fields: Sequence[BodyField], sep: str = "") -> str:
    """What the body text of a row of ``frame`` (its columns: the values :func:`body_texts`
    reads) depends on besides those values: this module's :data:`CANONICAL_VERSION`, polars'
    version (its row hash), the fields, the columns' names and types, the separator of dropped
    columns. Rows of equal :func:`values_hash` under equal recipes have the same body."""
    recipe = [
        CANONICAL_VERSION,
        pl.__version__,
        [repr(f) for f in fields],
        [(name, str(dtype)) for name, dtype in frame.schema.items()],
        sep,
    ]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()
