"""``syncer init``: propose a mapping for a raw export, write it, validate it on a sample."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncer.cli.app import cli, echo_issues, emit_json
from syncer.cli.remote import SOURCE, default_output, local_source, storage_options
from syncer.errors import ConfigError
from syncer.targets import names

if TYPE_CHECKING:
    from syncer.proposal import Proposal
    from syncer.runner import Prepared
    from syncer.storage import LocalCopy


def _target(value: str) -> str:
    from syncer.targets import names, suggest

    if value not in names():
        raise click.BadParameter(
            f"unknown target {value!r}{suggest(value)}; known: {', '.join(names())}",
            param_hint="'--target'",
        )
    return value


def _output(source: Path, output: Path | None, force: bool) -> Path:
    """Where the mapping goes; ConfigError (exit 2, nothing written) when that is refused."""
    out = output if output is not None else source.with_name(f"{source.stem}.yaml")
    with contextlib.suppress(OSError):
        if out.resolve() == source.resolve():
            raise ConfigError(
                f"the mapping {out} would overwrite the source file: give another path with -o. "
                "Nothing was written."
            )
    if out.is_dir():
        raise ConfigError(
            f"{out} is a folder: give the mapping file's path with -o. Nothing was written."
        )
    if out.exists() and not force:
        raise ConfigError(
            f"{out} already exists: pass --force to overwrite it, or -o PATH to write the "
            "mapping elsewhere. Nothing was written."
        )
    if not out.parent.is_dir():
        raise ConfigError(
            f"the folder of {out} does not exist: create it or give another path with -o. "
            "Nothing was written."
        )
    return out


def _write_checked(text: str, out: Path, check: Any) -> Prepared:
    """Write ``text`` to a temporary file beside ``out``, run ``check`` on it, then rename it
    into place (``out`` is never left half-written or holding a mapping that fails)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        prepared: Prepared = check(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the mapping {out} ({exc}): check the folder's permissions, or use -o."
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return prepared


def _summary(proposal: Proposal, source: Path | str, out: Path | None) -> dict[str, Any]:
    return {
        "command": "init",
        "source": str(source),
        "mapping": str(out) if out is not None else None,
        **proposal.to_dict(),
    }


def _echo_proposal(proposal: Proposal, out: Path) -> None:
    label = f" ({proposal.layout.label})" if proposal.layout else ""
    left = len(proposal.commented)
    click.echo(
        f"wrote {out}{label}: {len(proposal.chosen)} columns mapped, {left} left as comments"
    )
    width = max((len(c.field) for c in proposal.chosen), default=0)
    for c in proposal.chosen:
        opts = "".join(f", {k}: {v}" for k, v in c.options.items())
        read = repr(c.column) if not c.also else f"[{', '.join(map(repr, [c.column, *c.also]))}]"
        column = f"{{{c.form}: {read}}}" if c.form else read
        click.echo(f"  {c.field:<{width}} <- {column}{opts}  ({c.confidence:.2f}: {c.reason})")
    key = proposal.key
    if key is not None:
        click.echo(f"  key: {{column: {key.column!r}}}{'' if key.active else ' (commented out)'}")


@cli.command("init")
@click.argument("source", type=SOURCE)
@click.option(
    "--target",
    default="account_contact",
    show_default=True,
    callback=lambda ctx, param, value: _target(value),
    help="What the rows become in Reevo: one of "
    + ", ".join(names())
    + " (`syncer fields` lists each one's fields).",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    default=None,
    help="Mapping file to write (default: <source stem>.yaml beside the source; for an s3:// "
    "or sftp:// SOURCE, in the current folder).",
)
@click.option("--force", is_flag=True, help="Overwrite the mapping file if it exists.")
@storage_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print the proposal, with confidences, as JSON."
)
def init_cmd(
    source: Path | str, target: str, output: Path | None, force: bool, as_json: bool, **kw: Any
) -> None:
    """Propose a mapping for SOURCE (CSV/TSV/XLSX/XLS), write it and validate it on a sample.

    Matches known export layouts (HubSpot, Salesforce, Apollo, ZoomInfo, LinkedIn, Pipedrive,
    Zoho, Google, Outlook; companies and deals for --target accounts / opportunities), then
    header names in six languages, then the values. Every line of the file says why; columns
    not mapped are commented-out lines. Exit 0 written and no row of the sample invalid, 1
    written but some are, 2 nothing written. SOURCE may be s3://bucket/key or
    sftp://user@host[:port]/path (see `syncer run --help`).
    """
    with local_source(source, kw) as copy:
        _init(copy, target, output, force, as_json)


def _init(copy: LocalCopy, target: str, output: Path | None, force: bool, as_json: bool) -> None:
    """``syncer init`` on the local file ``copy`` (a remote SOURCE's temporary copy, named
    by its URL in what is written and printed)."""
    from syncer.proposal import propose, read_sample, render, require_email, require_fields
    from syncer.runner import prepare
    from syncer.runner.prepared import issue_counts
    from syncer.targets import TARGETS

    source, shown = copy.path, copy.url
    out = _output(source, default_output(copy, output, ".yaml"), force)
    table, complete = read_sample(source)
    proposal = propose(table.columns, table.frame, target=target)
    if as_json:
        emit_json(_summary(proposal, shown, None))
    require_email(proposal, shown)
    require_fields(proposal, TARGETS[target], shown)
    text = render(proposal, source=shown, mapping=str(out))
    prepared = _write_checked(text, out, lambda path: prepare(table, path))
    counts = prepared.counts()
    issues = issue_counts(prepared.frame)
    _echo_proposal(proposal, out)
    scope = f"all {table.rows:,} rows" if complete else f"the first {table.rows:,} rows (a sample)"
    click.echo(
        f"validate, {scope}: {counts['ready']} ready, {counts['duplicate']} duplicate, "
        f"{counts['invalid']} invalid"
        + (f" ({table.blank_rows} blank rows skipped)" if table.blank_rows else "")
    )
    echo_issues(issues)
    if proposal.checks:
        click.echo("check by hand:")
        for item in proposal.checks:
            click.echo(f"  - {item}")
    click.echo(
        f"next: syncer validate {shown} --mapping {out}  (the whole file, with results and "
        "failures files)"
    )
    if as_json:
        emit_json(
            {
                **_summary(proposal, shown, out),
                "validate": {
                    "rows": table.rows,
                    "sample": not complete,
                    **{k: counts.get(k, 0) for k in ("ready", "duplicate", "invalid")},
                    "issues": issues,
                },
            }
        )
    sys.exit(1 if counts.get("invalid", 0) else 0)
