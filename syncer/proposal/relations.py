"""What a proposal needs beyond matching columns to fields, for targets that create objects
(accounts, opportunities): lookup fields (``account: {domain: ...}`` before ``{name: ...}``
before ``account_id``), the external key line (``key: {column: Record ID}``), ``split:`` for
list fields, ``timezone:`` for datetime fields, HubSpot's stage ids, the closed-stage reasons,
and the fields without which nothing can be written (exit 2, listing the columns).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from syncer.errors import SourceError
from syncer.proposal.headers import is_country_header, match_header, normalize, synonyms_of
from syncer.proposal.layouts import Layout, detect, header_key
from syncer.proposal.model import Choice, KeyLine, Line, Proposal, listed_columns
from syncer.proposal.values import country_region
from syncer.proposal.zones import ZoneGuess, country_zone, local_zone, zone_in
from syncer.targets import FieldKind, Target

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "HUBSPOT_STAGES",
    "best_country",
    "field_kinds",
    "finish",
    "header_fields",
    "other_target",
    "require_fields",
]

#: HubSpot's default sales pipeline: internal stage id -> the stage's label
HUBSPOT_STAGES = {
    "appointmentscheduled": "Appointment Scheduled",
    "qualifiedtobuy": "Qualified To Buy",
    "presentationscheduled": "Presentation Scheduled",
    "decisionmakerboughtin": "Decision Maker Bought-In",
    "contractsent": "Contract Sent",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
}
_CLOSED = re.compile(r"\b(?:won|lost)\b|^closed(?:won|lost)$", re.I)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: the kind of each lookup form (a form not listed is text)
_FORM_KINDS = {"domain": FieldKind.DOMAIN}
#: how messages name one row of a target, and its default key
_NOUN = {"accounts": "account", "opportunities": "deal"}
_DEFAULT_KEY = {"accounts": "domain", "opportunities": "name and account"}
_LIST_KINDS = (FieldKind.TEXT_LIST, FieldKind.CONTACT_EMAILS)
#: the fields a target's default key is made of (accounts: the domain, else the website's)
_KEY_FIELDS = {"accounts": ("domain_name", "official_website")}


def field_kinds(spec: Target) -> dict[str, FieldKind]:
    """The fields a proposal may fill, in the target's order: a lookup field stands for one
    name per form (``account.domain``, ``account.name``), each with its values' kind."""
    out: dict[str, FieldKind] = {}
    for name, kind in spec.fields.items():
        if kind is FieldKind.LOOKUP:
            for form in spec.lookups.get(name, ()):
                out[f"{name}.{form}"] = _FORM_KINDS.get(form, FieldKind.TEXT)
        else:
            out[name] = kind
    return out


def header_fields(spec: Target, kinds: dict[str, FieldKind]) -> tuple[str, ...]:
    """The names headers are matched against: the fields, and for targets without an e-mail
    field the headers that are no field (``_ignore``), so "State" is never "Stage" by a typo."""
    if any(k is FieldKind.EMAIL for k in kinds.values()):
        return tuple(kinds)
    return (*kinds, "_ignore")


def finish(out: Proposal, spec: Target, sample: pl.DataFrame, layout: Layout | None) -> set[str]:
    """Complete ``out`` for the target (see the module docstring); the columns it used."""
    _merge_lookups(out, spec)
    _one_of(out, spec)
    _lists(out, spec, layout)
    _timezones(out, spec, sample)
    _stages(out, sample)
    _account_ids(out)
    out.key = _key_line(out, spec, layout)
    _keyless(out, spec, sample)
    return {out.key.column} if out.key else set()


def _keyless(out: Proposal, spec: Target, sample: pl.DataFrame) -> None:
    """A check when some rows have none of the key's source fields (accounts without a domain
    or website): they are ``missing_key`` unless keyed by the record id column."""
    sources = [c.column for c in out.chosen if c.field in _KEY_FIELDS.get(spec.name, ())]
    if not sources or out.key is None or out.key.active:
        return
    rows = list(zip(*(sample[c].to_list() for c in sources), strict=True))
    blank = sum(1 for row in rows if not any(v and v.strip() for v in row))
    if blank:
        noun = _NOUN.get(spec.name, "row")
        out.checks.append(
            f"{blank} of {len(rows)} sampled rows have no {_DEFAULT_KEY.get(spec.name, 'key')}: "
            f"they are invalid (missing_key) unless each {noun} is keyed by "
            f'"{out.key.column}" (uncomment the key line)'
        )


def _merge_lookups(out: Proposal, spec: Target) -> None:
    """``account.domain`` / ``account.name`` lines -> one ``account`` line of the first form
    the file has (the target's order: domain before name); the others are commented out."""
    for name, forms in spec.lookups.items():
        found = [c for form in forms for c in out.chosen if c.field == f"{name}.{form}"]
        for i, c in enumerate(found):
            form = c.field.partition(".")[2]
            if i == 0:
                c.field, c.form = name, form
                continue
            out.chosen.remove(c)
            used = f'{name}: {{{found[0].form}: "{found[0].column}"}} is used'
            out.commented.append(Line("columns", name, c.column, f"{c.reason}; {used}", form=form))
        for line in out.commented:
            if line.name.startswith(f"{name}."):
                line.name, line.form = name, line.name.partition(".")[2]


def _one_of(out: Proposal, spec: Target) -> None:
    """Of a group of fields a mapping gives one of (``account`` / ``account_id``), keep the
    first the file has; comment out the others."""
    for fields, _code in spec.one_of:
        found = [c for f in fields for c in out.chosen if c.field == f]
        for c in found[1:]:
            out.chosen.remove(c)
            why = (
                f"{c.reason}; {found[0].field} is used (a mapping gives one of {', '.join(fields)})"
            )
            out.commented.append(Line("columns", c.field, c.column, why, c.options, c.form))


def _lists(out: Proposal, spec: Target, layout: Layout | None) -> None:
    """``split:`` for a list field whose cells hold lists (or whose layout joins values)."""
    for c in out.chosen:
        if spec.fields.get(c.field) not in _LIST_KINDS:
            continue
        sep = layout.separator_for(c.column) if layout is not None else None
        if sep is not None:
            c.options["split"] = sep
            c.reason += f'; values joined with "{sep}" ({layout.label if layout else ""})'
            continue
        lists = out.profiles[c.column].lists
        best = max(lists, key=lambda s: lists[s], default=None)
        if best is not None and lists[best] >= 0.2:
            c.options["split"] = best
            c.reason += f'; {round(lists[best] * 100)} % of values are "{best}"-separated lists'


def best_country(columns: list[str], sample: pl.DataFrame) -> tuple[int, int, str, str] | None:
    """(rows saying it, rows naming a country, region, column) of the country column whose most
    common country most rows name, when at least half its recognised rows do; else None."""
    best: tuple[int, int, str, str] | None = None
    for col in columns:
        if is_country_header(col):
            region, n, total = country_region(sample[col].to_list())
            if region is not None and (best is None or n > best[0]):
                best = (n, total, region, col)
    return best if best is not None and best[0] * 2 >= best[1] else None


def _zone(columns: list[str], sample: pl.DataFrame) -> ZoneGuess:
    """The zone of values written without an offset: a time zone column, else a country
    column (a country of one zone), else this machine's zone (a guess)."""
    for col in columns:
        m = match_header(col, ("_timezone",))
        if m is None or not m.exact:
            continue
        zone, n, total = zone_in(sample[col].to_list())
        if zone is not None and n * 2 >= total:
            return ZoneGuess(zone, f'{n} of {total} rows in "{col}" say {zone}', False)
    best = best_country(columns, sample)
    if best is not None:
        n, total, region, col = best
        found = country_zone(region)
        if found is not None:
            zone, sure = found
            main = "" if sure else f", whose main zone is {zone}"
            return ZoneGuess(zone, f'{n} of {total} rows in "{col}" say {region}{main}', not sure)
    zone = local_zone()
    return ZoneGuess(zone, f"no time zone or country column: this machine's zone {zone}", True)


def _timezones(out: Proposal, spec: Target, sample: pl.DataFrame) -> None:
    """``timezone:`` (required by the mapping) for every datetime field."""
    fields = [c for c in out.chosen if spec.fields.get(c.field) is FieldKind.DATETIME]
    if not fields:
        return
    guess = _zone(out.columns, sample)
    for c in fields:
        c.options["timezone"] = guess.zone
        c.reason += f"; timezone {guess.zone}: {guess.reason}"
    if guess.guess:
        names = ", ".join(c.field for c in fields)
        out.checks.append(
            f"{names}: timezone {guess.zone} is a guess ({guess.reason}); values written "
            "without an offset are read in it"
        )


def _cells(sample: pl.DataFrame, column: str) -> list[str]:
    return [v.strip() for v in sample[column].to_list() if v and v.strip()]


def _stages(out: Proposal, sample: pl.DataFrame) -> None:
    """HubSpot's internal stage ids -> a commented ``values:`` table to start from; closed
    stages without a reasons column -> a check."""
    stage = out.chosen_for("stage")
    if stage is None:
        return
    cells = _cells(sample, stage.column)
    if not cells:
        return
    counts = Counter(v.casefold() for v in cells)
    ids = [i for i in HUBSPOT_STAGES if i in counts]
    if ids and sum(counts[i] for i in ids) * 2 >= len(cells):
        share = round(100 * sum(counts[i] for i in ids) / len(cells))
        table: dict[str, Any] = {"values": {i: HUBSPOT_STAGES[i] for i in ids}}
        out.commented.append(
            Line(
                "columns",
                "stage",
                stage.column,
                f"{share} % of its values are HubSpot's internal stage ids: values: turns them "
                "into names (HubSpot's default labels: put your Reevo stages on the right)",
                table,
            )
        )
        out.checks.append(
            f'stage: "{stage.column}" holds HubSpot\'s internal stage ids ({", ".join(ids[:3])}'
            "...), not Reevo's stage names: start from the commented-out stage line's values:"
        )
    closed = [v for v in cells if _CLOSED.search(v)]
    reasons = out.chosen_for("closed_reasons")
    if closed and reasons is None:
        out.checks.append(
            f"{len(closed)} of {len(cells)} sampled rows are in a closed stage "
            f'(e.g. "{closed[0]}"): Reevo needs closed_reasons for them: map a reason column, '
            "or those rows are "
            "invalid (missing_closed_reason)"
        )
    left = [x for x in out.commented if x.section == "columns" and x.name == "closed_reasons"]
    if reasons is not None and left:
        _reason_columns(out, reasons, left)


def _reason_columns(out: Proposal, reasons: Choice, left: list[Line]) -> None:
    """Several reason columns (HubSpot's "Closed Won Reason" and "Closed Lost Reason") -> one
    ``closed_reasons: {column: [A, B]}`` line, in the file's order: each row reads the first
    of them that is not blank."""
    order = {c: i for i, c in enumerate(out.columns)}
    read = sorted([reasons.column, *(x.column for x in left)], key=lambda c: order.get(c, 0))
    for x in left:
        out.commented.remove(x)
    reasons.column, reasons.also = read[0], read[1:]
    listed = " and ".join(f'"{c}"' for c in read)
    reasons.reason += (
        f"; {listed} both hold reasons (won and lost deals each in their own): a row reads the "
        "first of them that is not blank"
    )


def _account_ids(out: Proposal) -> None:
    """A check when ``account_id`` holds another tool's ids rather than Reevo's (UUIDs)."""
    c = out.chosen_for("account_id")
    if c is None:
        return
    cells = out.profiles[c.column].examples
    if cells and sum(bool(_UUID.match(v)) for v in cells) * 5 < len(cells) * 4:
        out.checks.append(
            f'account_id <- "{c.column}": Reevo needs its own account ids; values like '
            f"\"{cells[0]}\" look like another tool's. Map the company's domain or name "
            "instead (account: {domain: <column>} or account: {name: <column>})"
        )


def _default_key(out: Proposal, spec: Target) -> bool:
    """Whether the target's own key can be made from the chosen fields."""
    if spec.key_of is None:
        return out.chosen_for(spec.key_field) is not None
    import polars as pl

    try:
        spec.key_of({c.field: pl.col(c.column) for c in out.chosen})
    except (ValueError, KeyError):
        return False
    return True


def _key_line(out: Proposal, spec: Target, layout: Layout | None) -> KeyLine | None:
    """``key: {column: ...}`` from a record id column: written when the target's own key
    cannot be made from the file, else proposed commented out with why one might."""
    if not spec.external_key:
        return None
    taken = {c.column for c in out.chosen}
    have = {header_key(c): c for c in out.columns}
    found = [
        have[header_key(h)] for h in (layout.key_columns if layout else ()) if header_key(h) in have
    ]
    words = {normalize(w) for w in (*synonyms_of("_key"), *synonyms_of(f"{spec.name}._key"))}
    found += [c for c in out.columns if normalize(c) in words]
    found = [c for c in found if c not in taken and not out.profiles[c].empty]
    if not found:
        return None
    col = found[0]
    noun = _NOUN.get(spec.name, "row")
    default = _DEFAULT_KEY.get(spec.name, spec.key_label)
    if not _default_key(out, spec):
        return KeyLine(
            col,
            f'no column gives the {noun}s\' {default}: each {noun} is keyed by "{col}", the id '
            "the tool the file comes from gave it",
            True,
        )
    return KeyLine(
        col,
        f'"{col}" holds the ids the tool the file comes from gave its records: with this line a '
        f"re-import finds each {noun} by that id, even when its {default} changed; without it "
        f"the key is its {default}",
        False,
    )


# --------------------------------------------------------------------------- exit 2


def _examples(name: str) -> str:
    words = synonyms_of(name)
    return ", ".join(dict.fromkeys(w[:1].upper() + w[1:] for w in words[:6])) + "..."


def other_target(out: Proposal) -> str:
    """`` It looks like a HubSpot companies export: try --target accounts.`` when the file's
    header is a known export of another target than the proposal's, else ``""``."""
    other = detect(out.columns, None)
    if other is not None and other.target != out.target:
        return f" It looks like a {other.label}: try --target {other.target}."
    return ""


def _fail(out: Proposal, source: str, what: str, how: str) -> SourceError:
    return SourceError(
        f"{source}: {what} The file's columns are: {listed_columns(out.columns)}."
        f"{other_target(out)} {how} Nothing was written.",
        path=source,
    )


def require_fields(out: Proposal, spec: Target, source: str) -> None:
    """Raise SourceError (exit 2) when no column can be a field every row needs (a required
    field, one of a ``one_of`` group, the key), naming the columns and what to do."""
    noun = _NOUN.get(spec.name, "row")
    for name in spec.required:
        if out.chosen_for(name) is None and spec.fields[name] is not FieldKind.EMAIL:
            raise _fail(
                out,
                source,
                f"no column can be the {noun}'s {name}, which Reevo needs for every {noun}. A "
                f"column is taken for it when its header says so ({_examples(name)}).",
                f"Give that column such a header, or write the mapping by hand (README, "
                f"'Mapping files') with '{name}: <column>'.",
            )
    for fields, _code in spec.one_of:
        if any(out.chosen_for(f) for f in fields):
            continue
        forms = [f"{f}: {{{form}: <column>}}" for f in fields for form in spec.lookups.get(f, ())]
        forms += [f"{f}: <column>" for f in fields if f not in spec.lookups]
        raise _fail(
            out,
            source,
            f"no column says which account each {noun} is on: a column is taken for it when "
            f"its header names the company's domain ({_examples('account.domain')}), its name "
            f"({_examples('account.name')}) or a Reevo account id (Account ID).",
            f"Add such a column, or write the mapping by hand with {' or '.join(forms)}.",
        )
    if (out.key is None or not out.key.active) and not _default_key(out, spec):
        raise _fail(
            out,
            source,
            f"no column can key the {noun}s: its {_DEFAULT_KEY.get(spec.name, spec.key_label)}"
            f" ({_examples('domain_name')}) or the id the tool it comes from gave it "
            f"({_examples('_key')}). A re-import finds each {noun} again by its key.",
            "Add such a column, or write the mapping by hand with 'key: {column: <column>}'.",
        )
