"""``syncer schema`` (the mapping files' JSON Schema) and ``syncer fields`` (each target's
Reevo fields, their kinds and the options they take)."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from syncer.cli.app import cli, emit_json
from syncer.errors import ConfigError

if TYPE_CHECKING:  # syncer.schema loads pydantic: imported when a command runs
    from syncer.schema import OptionInfo, TargetInfo

#: width of the text ``syncer fields`` prints
WIDTH = 80


@cli.command("schema")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the schema to FILE instead of printing it.",
)
@click.option("--force", is_flag=True, help="With -o: overwrite FILE if it exists.")
def schema_cmd(output: Path | None, force: bool) -> None:
    """Print the JSON Schema of mapping files (for editors: see README, "Editor support")."""
    from syncer.schema import schema_text

    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise ConfigError(
            f"{output} already exists: pass --force to overwrite it, or choose another -o FILE."
        )
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {output}: {exc.strerror or exc}. Choose another -o FILE."
        ) from exc
    click.echo(f"wrote {output}", err=True)


@cli.command("fields")
@click.argument("target", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the fields as one JSON object.")
def fields_cmd(target: str | None, as_json: bool) -> None:
    """List the Reevo fields of TARGET (default: every target): kind, required, options."""
    from syncer.schema import describe_target
    from syncer.targets import names

    infos = [describe_target(name) for name in ([target] if target else names())]
    if as_json:
        emit_json({"targets": [info.to_dict() for info in infos]})
        return
    for i, info in enumerate(infos):
        if i:
            click.echo()
        for line in _target_lines(info):
            click.echo(line)


#: the options that say where an entry's value comes from (one of them per entry)
_SOURCES = ("column", "value", "domain", "name", "email")


def _labels(options: list[OptionInfo]) -> str:
    """``column | value, format: e164, ...``: the sources (column and value, or a lookup's
    forms ``{domain: ...} | {name: ...}``) are one choice."""
    sources = [o.name for o in options if o.name in _SOURCES]
    out = [" | ".join(sources)] if sources else []
    out += [o.label() for o in options if o.name not in _SOURCES]
    return ", ".join(out)


def _wrap(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent=" " * indent, break_on_hyphens=False) or [
        text
    ]


def _common(info: TargetInfo) -> list[OptionInfo]:
    """The options every field of the target takes, each as most fields take it (a required
    field may allow fewer values: its row then lists its own)."""
    plain = [f for f in info.fields if "column" in {o.name for o in f.options}] or info.fields
    names = set.intersection(*({o.name for o in f.options} for f in plain))
    best: dict[str, OptionInfo] = {}
    for option, _ in Counter(o for f in plain for o in f.options).most_common():
        if option.name in names:
            best.setdefault(option.name, option)
    return [best[o.name] for o in plain[0].options if o.name in best]


def _target_lines(info: TargetInfo) -> list[str]:
    """A target as lines of at most :data:`WIDTH` columns."""
    from syncer.schema import KIND_TEXT

    default = "the default target; " if info.default else ""
    key = " | ".join(info.key_forms) if info.key_forms else info.key
    lines = _wrap(f"{info.name} ({default}key: {key})", 2)
    every = _common(info)
    name_w = max(len("FIELD"), *(len(f.name) for f in info.fields))
    kind_w = max(len("KIND"), *(len(f.kind.value) for f in info.fields))
    lines.append(f"  {'FIELD':<{name_w}}  {'KIND':<{kind_w}}  REQUIRED / OPTIONS")
    for f in info.fields:
        notes = ["required" if f.required else "", "the key" if f.key else ""]
        notes.append(f"one of {', '.join(f.values)}" if f.values else "")
        notes.append(_labels([o for o in f.options if o not in every]))  # own or other values
        text = f"  {f.name:<{name_w}}  {f.kind.value:<{kind_w}}  " + "; ".join(
            n for n in notes if n
        )
        lines += _wrap(text.rstrip(), 6 + name_w + kind_w)
    lines += _wrap(f"  Every field takes: {_labels(every)}.", 4)
    lines += _wrap(
        "  A column (or a lookup's form) may list columns, column: [A, B]: each row reads "
        "the first of them whose cell is not blank.",
        4,
    )
    for fields, code in info.one_of:
        lines += _wrap(f"  Map one of {' or '.join(fields)}; a row without any is {code}.", 4)
    for name, values in info.options.items():
        lines += _wrap(f"  Top-level {name}: {'|'.join(values)} (default {values[0]}).", 4)
    for step in info.then:
        lines += _wrap(f"  Top-level {step}.", 4)
    if info.custom_sections:
        sections = " and ".join(info.custom_sections)
        lines += _wrap(
            f"  Custom fields go under {sections} (API name, e.g. cus_field__Region, or UUID), "
            f"and take: {_labels(info.custom_options)}.",
            4,
        )
    else:
        lines.append("  No custom fields.")
    lines.append("  Kinds:")
    for kind in dict.fromkeys(f.kind for f in info.fields):
        lines += _wrap(f"    {kind.value:<{kind_w}}  {KIND_TEXT.get(kind, kind.value)}", 6 + kind_w)
    return lines
