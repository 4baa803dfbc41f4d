"""``syncer inbox DIR``: import every ready file of a drop folder once, archive it, alert."""

from __future__ import annotations

import contextlib
import sys
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import click

from syncer.cli.app import STATE, Duration, cli, emit_json, fail, mapping_option
from syncer.cli.remote import SOURCE, storage_options
from syncer.cli.session import (
    build_settings,
    command_line,
    connection_options,
    embedded_sandbox,
    stop_on_signals,
)
from syncer.errors import ConfigError, SyncerError

#: file statuses shown first, worst first
_ORDER = (
    "failed",
    "aborted",
    "interrupted",
    "partial",
    "done",
    "ready",
    "skipped_duplicate",
    "not_ready",
    "unrouted",
)


def _route(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, Path]]:
    routes = []
    for value in values:
        glob, sep, mapping = value.partition("=")
        if not sep or not glob.strip() or not mapping.strip():
            raise click.BadParameter(f"{value!r}: write GLOB=MAPPING, e.g. 'hubspot-*.csv=hs.yaml'")
        routes.append((glob.strip(), Path(mapping.strip())))
    return routes


def _hhmm(_ctx: click.Context, _param: click.Parameter, value: str | None) -> clock_time | None:
    if value is None:
        return None
    try:
        hours, minutes = value.split(":")
        return clock_time(int(hours), int(minutes))
    except ValueError:
        raise click.BadParameter(f"{value!r}: write the time as HH:MM, e.g. 06:30") from None


@cli.command("inbox")
@click.argument("inbox_dir", type=SOURCE)
@mapping_option(required=False, help="The mapping for every file (or --route).")
@click.option(
    "--route",
    "routes",
    multiple=True,
    callback=_route,
    metavar="GLOB=FILE",
    help="Files whose name matches GLOB use mapping FILE (first match wins; "
    "repeatable). A file no route matches is left in place: unrouted.",
)
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    metavar="GLOB",
    help="Files to take (repeatable; default *.csv *.tsv *.txt *.xlsx *.xls).",
)
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(path_type=Path),
    help="Where done files go (default DIR/archive; for a remote DIR a folder URL on the same "
    "store, default DIR/archive/).",
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="A remote DIR only: the local folder for results, failures, notes and reports "
    "(uploaded beside each archived file too) [default: inbox-results/ beside the ledger].",
)
@storage_options
@click.option(
    "--keep",
    is_flag=True,
    help="Leave files where they are (read-only folders); the file registry alone "
    "prevents a second import.",
)
@click.option(
    "--min-age",
    "min_age_s",
    type=Duration(),
    default="60s",
    show_default=True,
    help="A file must be at least this old.",
)
@click.option(
    "--settle",
    "settle_s",
    type=Duration(),
    default="2s",
    show_default=True,
    help="...and its size and time unchanged across two looks this far apart.",
)
@click.option(
    "--ready-marker",
    metavar="SUFFIX",
    help="Only take NAME once NAME<SUFFIX> exists (e.g. .done); archived with it.",
)
@click.option(
    "--max-runtime",
    "max_runtime_s",
    type=Duration(),
    default="6h",
    show_default=True,
    help="A lock held longer than this is reported stuck (exit 4).",
)
@click.option(
    "--max-reject-rate",
    type=click.FloatRange(0, 100),
    metavar="PCT",
    help="A file whose invalid + failed rows exceed PCT % of its rows counts as failed "
    "for alerts and the exit code.",
)
@click.option(
    "--expect-by",
    callback=_hhmm,
    metavar="HH:MM",
    help="If no new file was processed today by then: exit 5, alert 'missing'.",
)
@click.option(
    "--tz",
    metavar="ZONE",
    help="Time zone of --expect-by and the archive's dates "
    "(e.g. Europe/Berlin; default: this machine's).",
)
@click.option(
    "--notify",
    multiple=True,
    metavar="URL",
    help="A human-readable alert through an apprise URL (slack://, workflows:// for Teams, "
    "mailto://, json://...); repeatable.",
)
@click.option(
    "--webhook",
    "webhooks",
    multiple=True,
    metavar="URL",
    help="POST the JSON summary (plus 'event') to this https URL; repeatable.",
)
@click.option(
    "--notify-on",
    default="failure,partial,recovery,missing",
    show_default=True,
    help="Events that alert: failure, partial, recovery, missing, stuck, or always.",
)
@click.option(
    "--ping",
    metavar="URL",
    help="Dead-man's switch (healthchecks.io): URL/start, then URL/<exit code>.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List every file and what would happen to it; validate the ready ones; "
    "send and move nothing.",
)
@connection_options
def inbox_cmd(
    inbox_dir: Path | str,
    mapping_path: Path | None,
    routes: list[tuple[str, Path]],
    patterns: tuple[str, ...],
    archive_dir: Path | None,
    results_dir: Path | None,
    storage_options: Path | None,
    sftp_insecure: bool,
    keep: bool,
    min_age_s: float,
    settle_s: float,
    ready_marker: str | None,
    max_runtime_s: float,
    max_reject_rate: float | None,
    expect_by: clock_time | None,
    tz: str | None,
    notify: tuple[str, ...],
    webhooks: tuple[str, ...],
    notify_on: str,
    ping: str | None,
    dry_run: bool,
    **kw: Any,
) -> None:
    """Import every ready file at the top of INBOX_DIR, once, then archive it.

    INBOX_DIR is a local folder, s3://bucket/prefix/ or sftp://user@host[:port]/path: a remote
    file is downloaded once to a temporary file, imported from there, and archived on its store;
    a store that does not answer (after retries) exits 3 with a failure alert.

    Each file is imported exactly as `syncer run` would (same ledger, results and failures
    files), then moved to ARCHIVE/processed/YYYY-MM-DD/ (or failed/ with an .error.txt). A file
    whose content was already imported is archived as skipped_duplicate. Exit: the worst file's
    code (0, 1, 2, 3 as for run); 0 for an empty inbox or when another run is busy; 4 stuck;
    5 no file by --expect-by.
    """
    from syncer.inbox.alerts import parse_notify_on
    from syncer.inbox.scan import DEFAULT_PATTERNS, Readiness
    from syncer.runner.inbox import InboxOptions, run_inbox
    from syncer.stopping import StopRequest

    stop = StopRequest()
    settings = build_settings(kw, command_line(), stop)
    try:
        if tz is not None:
            _check_tz(tz)
        options = InboxOptions(
            inbox=inbox_dir,
            mapping=mapping_path,
            routes=routes,
            patterns=patterns or DEFAULT_PATTERNS,
            archive=archive_dir,
            keep=keep,
            readiness=Readiness(min_age_s=min_age_s, settle_s=settle_s, ready_marker=ready_marker),
            max_runtime_s=max_runtime_s,
            max_reject_rate=max_reject_rate,
            expect_by=expect_by,
            tz=tz,
            notify=list(notify),
            webhooks=list(webhooks),
            notify_on=parse_notify_on(notify_on),
            ping=ping,
            dry_run=dry_run,
            results=results_dir,
            storage_options=storage_options,
            sftp_insecure_accept_host_key=sftp_insecure,
        )
        if isinstance(inbox_dir, str):
            _mask_store_secrets(storage_options)
        with (
            stop_on_signals(stop),
            embedded_sandbox(settings) if kw["sandbox"] else contextlib.nullcontext(),
        ):
            report = run_inbox(options, settings)
    except SyncerError as err:
        fail(err)
    _print(report, kw["quiet"])
    if kw["as_json"]:
        emit_json(report.as_json(), _error_of(report))
    sys.exit(report.exit_code)


def _mask_store_secrets(options_file: Path | None) -> None:
    """Mask the secret values of --storage-options and the AWS secret in all output."""
    from syncer.storage.location import load_storage_options, secret_values

    STATE.secrets.update(secret_values(load_storage_options(options_file)))


def _check_tz(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--tz {tz!r} is not a time zone: use an IANA name such as Europe/Berlin or UTC."
        ) from None


def _print(report: Any, quiet: bool) -> None:
    files = sorted(report.files, key=lambda f: _ORDER.index(f.status.value))
    for f in files:
        counts = ", ".join(
            f"{f.counts[k]} {k}"
            for k in ("succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")
            if f.counts.get(k)
        )
        line = f"{f.status.value:<17} {f.name}"
        if f.counts:
            line += f"  ({f.counts.get('rows', 0)} rows: {counts or 'nothing to do'})"
        if f.archived:
            line += f"  -> {f.archived}"
        click.echo(line)
        if f.error and f.status.value not in ("done",):
            click.echo(f"    {f.error}", err=f.status.value in ("failed", "aborted"))
        if f.failures:
            click.echo(f"    failures: {f.failures}")
    data = report.as_json()
    if report.message:
        what = "error" if report.unreachable else report.status.value
        click.echo(f"{what}: {report.message}", err=True)
    click.echo(
        f"inbox {report.inbox}: {data['processed']} processed, {data['skipped_duplicate']} "
        f"skipped (already imported), {data['not_ready']} not ready, {data['unrouted']} "
        f"unrouted; {data['requests']} requests"
        + (" [dry run: nothing sent or moved]" if report.dry_run else "")
    )
    if report.report:
        click.echo(f"report: {report.report}")
    for err in report.notify_errors:
        click.echo(f"warning: alert not delivered: {err}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


def _error_of(report: Any) -> SyncerError | None:
    if report.exit_code == 4:
        return SyncerError(report.message or "the inbox lock is stuck", code="stuck")
    if report.exit_code == 5:
        return SyncerError(report.message or "no file arrived", code="missing")
    if report.unreachable:
        return SyncerError(report.message or "the store did not answer", code="storage_unreachable")
    worst = [f for f in report.files if f.exit_code == report.exit_code and f.error]
    if report.exit_code >= 2 and worst:
        return SyncerError(
            f"{worst[0].name}: {worst[0].error}", code="file_" + worst[0].status.value
        )
    return None
