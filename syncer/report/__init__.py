"""The HTML run report: its data (:mod:`.model`), the timeline recorded during a run
(:mod:`.timeline`), chart geometry (:mod:`.charts`) and the page itself (:mod:`.html`).

Pure: it reads no file and knows no network; the runner builds a :class:`Report` from a run
and writes it with :func:`write_report`.
"""

from syncer.report.html import render as render_report
from syncer.report.html import write as write_report
from syncer.report.model import (
    ErrorGroup,
    Example,
    FileLine,
    PreflightInfo,
    Report,
    RunSection,
    next_steps,
)
from syncer.report.timeline import Timeline, TimelineData

__all__ = [
    "ErrorGroup",
    "Example",
    "FileLine",
    "PreflightInfo",
    "Report",
    "RunSection",
    "Timeline",
    "TimelineData",
    "next_steps",
    "render_report",
    "write_report",
]
