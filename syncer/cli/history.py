"""Text views of the run history for ``syncer runs`` and ``syncer runs show``: counts as an
aligned table, times on the local clock, retries linked to the run they retried, and a quota
stop as the clock time to retry at (``retry after 14:05 CET (in 3,540 s)``).

Pure functions from ledger records to lines; the commands print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: row statuses in the order a table shows them
STATUSES = ("succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int]) -> list[str]:
    """``header`` and ``rows`` as aligned lines, columns two spaces apart; the columns whose
    index is in ``right`` (numbers) right-aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        out = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(out).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _local(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone()


def local_time(iso: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC ISO time from the ledger on this machine's clock (``-`` when unknown)."""
    when = _local(iso)
    return when.strftime(fmt) if when else (iso or "-")


def zone_name() -> str:
    """This machine's time zone abbreviation now, e.g. ``CET``."""
    return datetime.now().astimezone().tzname() or "local"


def retry_after(retry_at: str, now: datetime | None = None) -> str:
    """``retry after 14:05 CET (in 3,540 s)``: the local clock time (with the day when it is
    not today) and the seconds left; ``(now)`` once it has passed."""
    when = _local(retry_at)
    if when is None:
        return f"retry after {retry_at}"
    now = (now or datetime.now(UTC)).astimezone(when.tzinfo)
    fmt = "%H:%M %Z" if when.date() == now.date() else "%a %d %b %H:%M %Z"
    left = round((when - now).total_seconds())
    return f"retry after {when.strftime(fmt)} ({f'in {left:,} s' if left > 0 else 'now'})"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def retried_by(records: Sequence[Any]) -> dict[int, list[int]]:
    """Run id -> the ids of the listed runs that retried it, oldest first."""
    out: dict[int, list[int]] = {}
    for r in sorted(records, key=lambda r: r.id):
        if r.parent_run is not None:
            out.setdefault(r.parent_run, []).append(r.id)
    return out


def _links(r: Any, children: dict[int, list[int]]) -> str:
    parts = [f"retry of #{r.parent_run}"] if r.parent_run is not None else []
    if children.get(r.id):
        parts.append("retried by " + ", ".join(f"#{c}" for c in children[r.id]))
    return "; ".join(parts)


def runs_lines(records: Sequence[Any], now: datetime | None = None) -> list[str]:
    """``syncer runs``: one table row per run (newest first), then what stopped a run on its
    quota and when to retry it. Status columns no listed run has are left out."""
    children = retried_by(records)
    shown = [s for s in STATUSES if any(r.counts.get(s) for r in records)]
    header = ["run", f"started ({zone_name()})", "outcome", "exit", "rows", *shown]
    header += ["retries", "429s", "file", "mapping"]
    rows = [
        [
            f"#{r.id}",
            local_time(r.started_at),
            r.display_outcome,
            "-" if r.exit_code is None else str(r.exit_code),
            _n(r.rows),
            *(_n(r.counts.get(s, 0)) for s in shown),
            _n(r.retries),
            _n(r.throttled),
            Path(r.source).name,
            Path(r.mapping).name if r.mapping else "-",
            _links(r, children),
        ]
        for r in records
    ]
    if any(row[-1] for row in rows):
        header.append("retry links")
    else:
        rows = [row[:-1] for row in rows]
    right = range(3, 7 + len(shown))
    lines = table(header, rows, list(right))
    for r in records:
        if r.retry_at:
            lines.append(f"#{r.id} stopped on Reevo's quota: {retry_after(r.retry_at, now)}")
    return lines


def show_lines(
    r: Any, children: Sequence[int], kept_gone: dict[str, bool], now: datetime | None = None
) -> list[str]:
    """``syncer runs show``: the run's facts, its counts as a table, its message (a quota stop
    with the clock time to retry at), its files and its retry links."""
    started, finished = _local(r.started_at), _local(r.finished_at)
    took = f"  ({(finished - started).total_seconds():,.0f} s)" if started and finished else ""
    lines = [f"run #{r.id}" + (f"  (a retry of run #{r.parent_run})" if r.parent_run else "")]
    facts = [
        ("started", local_time(r.started_at, "%Y-%m-%d %H:%M:%S %Z")),
        ("finished", local_time(r.finished_at, "%Y-%m-%d %H:%M:%S %Z") + took),
        ("outcome", f"{r.display_outcome}, exit {'-' if r.exit_code is None else r.exit_code}"),
        ("source", r.source),
        ("mapping", r.mapping or "-"),
        ("target", r.target),
        ("command", r.command),
    ]
    lines += [f"{k + ':':<15}{v}" for k, v in facts]
    counts = [[s, _n(r.counts.get(s, 0))] for s in STATUSES] + [["total", _n(r.rows)]]
    lines += ["", *("  " + line for line in table(["status", "rows"], counts, [1])), ""]
    lines.append(
        f"{'requests:':<15}{_n(r.requests)}  ({_n(r.retries)} retries, {_n(r.throttled)} "
        "answered 429)"
    )
    if r.message:
        lines.append(f"{'message:':<15}{r.message}")
    if r.retry_at:
        lines.append(f"{'':<15}{retry_after(r.retry_at, now)}")
    paths = [
        ("results", r.results_path),
        ("failures", r.failures_path),
        ("kept_results", r.kept_results),
        ("kept_failures", r.kept_failures),
    ]
    for key, value in paths:
        gone = "  (removed: only the newest runs keep their files)" if kept_gone.get(key) else ""
        lines.append(f"{key + ':':<15}{value or ''}{gone}".rstrip())
    if children:
        runs = ", ".join(f"#{c}" for c in children)
        lines.append(f"{'retried by:':<15}{runs}  (syncer runs show {children[-1]})")
    return lines
