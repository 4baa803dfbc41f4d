"""Draw a :class:`Report` as one self-contained HTML file (jinja2, autoescaped).

Inline CSS and SVG only: no script, font, image or URL is referenced, and the page's
Content-Security-Policy forbids loading any. Every text that came from a file or a server is
escaped by the template engine (``autoescape``); chart geometry is computed from numbers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from syncer import __version__
from syncer.atomic import write_atomic
from syncer.errors import SourceError
from syncer.report.charts import (
    HEIGHT,
    WIDTH,
    Chart,
    Segment,
    duration_text,
    number,
    status_bar,
    timeline_charts,
)
from syncer.report.model import (
    EXIT_MEANINGS,
    STATUS_ORDER,
    Report,
    RunSection,
    Step,
    next_steps,
)

_PREFLIGHT = {
    "passed": "Passed: the key works, may write the target, and the owner e-mails are users",
    "failed": "Failed: no row was sent",
    "unchecked": "Not checked: Reevo could not be reached to check the key before sending",
    "skipped": "Skipped (--no-preflight)",
    "not_run": "Not run: nothing was to be sent",
}


@dataclass
class _View:
    """A section with what the template draws from it."""

    section: RunSection
    steps: list[Step]
    bar: list[Segment]
    charts: list[Chart] = field(default_factory=list)
    heading: str = "h2"  # h1 when the section is the whole report


def _when(value: str | float | None) -> str:
    """An ISO 8601 time or epoch seconds, shown in this machine's zone."""
    if value is None or value == "":
        return ""
    try:
        moment = (
            datetime.fromtimestamp(value, UTC)
            if isinstance(value, int | float)
            else datetime.fromisoformat(value)
        )
    except (ValueError, OSError, OverflowError):
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _exit_class(code: int) -> str:
    return "exit-0" if code == 0 else "exit-1" if code == 1 else "exit-bad"


def _label(status: str) -> str:
    return status.replace("_", " ")


def _meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "the run ended early")


def _preflight_text(state: str) -> str:
    return _PREFLIGHT.get(state, state)


_TEMPLATE_LOCK = threading.Lock()


def template() -> jinja2.Template:
    """The report's template, compiled once per process (~45 ms, with jinja2's ~60 ms of
    imports: a run has it compiled in a thread while its file is prepared); thread-safe."""
    with _TEMPLATE_LOCK:
        return _compiled()


@cache
def _compiled() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("syncer.report", "templates"),
        autoescape=True,  # every {{ value }} is HTML-escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when, duration=duration_text, num=number, exit_class=_exit_class, label=_label
    )
    env.globals.update(
        meaning=_meaning,
        preflight_text=_preflight_text,
        version=__version__,
        width=WIDTH,
        height=HEIGHT,
        statuses=STATUS_ORDER,
    )
    return env.get_template("report.html.j2")


def render(report: Report) -> str:
    """The report as one HTML document."""
    views = [
        _View(
            section=s,
            steps=next_steps(s),
            bar=status_bar(s.counts, STATUS_ORDER),
            charts=timeline_charts(s.timeline) if s.timeline is not None else [],
            heading="h1" if report.kind == "run" else "h2",
        )
        for s in report.sections
    ]
    context: dict[str, Any] = {"report": report, "views": views}
    return template().render(context)


def write(report: Report, path: Path) -> Path:
    """Write the report to ``path`` (a temporary file renamed into place); SourceError (with
    what to do) when it cannot be written."""
    if not report.generated_at:
        report.generated_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    data = render(report).encode("utf-8")
    try:
        write_atomic(path, lambda fh: fh.write(data))
    except OSError as exc:
        raise SourceError(
            f"cannot write the report {path} ({exc.strerror or exc}): check that its folder "
            "is writable.",
            path=str(path),
        ) from exc
    return path
