"""Alerts for ``syncer inbox``: which events a run raised, the text a person reads, delivery.

- :func:`events_for` decides (pure): ``failure``, ``partial``, ``recovery``, ``missing``, ``stuck``.
- :func:`alert_text` writes a title and a short plain-text body for a phone: the inbox, each
  file with its status and counts, the failures files, and the one thing to do.
- :func:`deliver` sends it: one apprise notification per ``--notify`` URL (``slack://``,
  ``mailto://``, ``json://`` ...) and a JSON POST of the ``--json`` object plus ``"event"`` to each
  ``--webhook`` URL. :func:`ping` is the healthchecks.io dead-man's switch.

Delivery never raises and never changes the import's outcome: each problem is one line for
``notify_errors`` (``"webhook https://hooks.example.com/***: timed out after 10 s"``). No
message or payload carries the API key, and a URL is shown only as ``scheme://host/***``: paths,
queries and passwords of notify/webhook/ping URLs often are the secret.

Each delivery attempt is also a :class:`syncer.events.Notified` event (the URL as safe_url shows
it). Imports from syncer only ``errors``, ``events``, ``hosts``, ``models`` and ``inbox.report``
(no ledger, runner or Reevo).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import httpx

from syncer.errors import ConfigError
from syncer.events import Notified, emit
from syncer.hosts import is_loopback_host
from syncer.inbox.report import FileReport, FileStatus, InboxReport, InboxStatus

EVENTS = ("failure", "partial", "recovery", "missing", "stuck")
DEFAULT_NOTIFY_ON = frozenset({"failure", "partial", "recovery", "missing"})

USER_AGENT = "syncer/0.1 (inbox alerts)"
MASK = "***"
MAX_FILES_LISTED = 15  # a phone screen: the rest is "... and N more"

#: apprise's notification type per event (icons and colours in Slack, Teams ...)
_NOTIFY_TYPE = {
    "failure": "failure",
    "partial": "warning",
    "recovery": "success",
    "missing": "warning",
    "stuck": "failure",
}

#: files an import ran on (the others were not taken this run)
_PROCESSED = (FileStatus.DONE, FileStatus.PARTIAL, FileStatus.FAILED, FileStatus.ABORTED)


# --- which events --------------------------------------------------------------------------------


def alerts_on(event: str, notify_on: frozenset[str]) -> bool:
    """Whether ``event`` alerts: it is in ``notify_on``; a ``stuck`` lock also alerts wherever
    ``failure`` does (a hung nightly job is a failure, and the default list names no stuck)."""
    return event in notify_on or (event == "stuck" and "failure" in notify_on)


def parse_notify_on(text: str) -> frozenset[str]:
    """``--notify-on``: ``"failure,partial"`` -> those events; ``"always"`` -> every event."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if "always" in words:
        return frozenset(EVENTS)
    bad = [w for w in words if w not in EVENTS]
    if bad or not words:
        what = f"unknown event {', '.join(map(repr, bad))}" if bad else "names no event"
        raise ConfigError(
            f"--notify-on {text!r}: {what}; use a comma-separated list of {', '.join(EVENTS)}, "
            "or 'always'"
        )
    return frozenset(words)


def reject_rate(f: FileReport) -> float:
    """Percent of a file's rows that were invalid or failed (0 for a file without rows)."""
    rows = f.counts.get("rows", 0)
    if rows <= 0:
        return 0.0
    return 100.0 * (f.counts.get("invalid", 0) + f.counts.get("failed", 0)) / rows


def over_reject_rate(report: InboxReport, max_reject_rate: float | None) -> list[FileReport]:
    """Files whose invalid + failed rows exceed ``max_reject_rate`` percent of their rows."""
    if max_reject_rate is None:
        return []
    return [f for f in report.files if reject_rate(f) > max_reject_rate]


def events_for(
    report: InboxReport, *, previously_failed: bool, max_reject_rate: float | None
) -> list[str]:
    """The alert events this run raised, in :data:`EVENTS` order.

    ``failure``: a file failed or aborted, exit code >= 2 (other than the 4/5 of ``stuck`` and
    ``missing``, which are their own events), or a file over ``max_reject_rate`` %.
    ``partial``: a file has rows to fix, and no failure. ``recovery``: a clean run (status ok,
    neither failure nor partial) right after a failed one. ``missing`` / ``stuck``: the run's
    status. A dry run raises nothing: it sent and moved nothing.
    """
    if report.dry_run:
        return []
    own_exit = report.status in (InboxStatus.STUCK, InboxStatus.MISSING)
    failure = (
        report.count(FileStatus.FAILED, FileStatus.ABORTED) > 0
        or (report.exit_code >= 2 and not own_exit)
        or bool(over_reject_rate(report, max_reject_rate))
    )
    partial = not failure and report.count(FileStatus.PARTIAL) > 0
    recovery = previously_failed and not failure and not partial and report.status is InboxStatus.OK
    raised = {
        "failure": failure,
        "partial": partial,
        "recovery": recovery,
        "missing": report.status is InboxStatus.MISSING,
        "stuck": report.status is InboxStatus.STUCK,
    }
    return [e for e in EVENTS if raised[e]]


# --- what a person reads -------------------------------------------------------------------------


def _counts_line(f: FileReport) -> str:
    c = f.counts
    parts = [f"{c.get('rows', 0)} rows"]
    for key, label in (
        ("succeeded", "succeeded"),
        ("unchanged", "unchanged"),
        ("duplicate", "duplicate"),
        ("invalid", "invalid"),
        ("failed", "failed"),
        ("not_attempted", "not attempted"),
    ):
        if c.get(key, 0):
            parts.append(f"{c[key]} {label}")
    return ", ".join(parts)


def _file_line(f: FileReport) -> str:
    line = f"- {f.name}: {f.status.value}"
    if f.status in (*_PROCESSED, FileStatus.INTERRUPTED) and f.counts.get("rows"):
        line += f", {_counts_line(f)}"
    if f.error and f.status in (FileStatus.FAILED, FileStatus.ABORTED, FileStatus.INTERRUPTED):
        line += f"\n  error: {f.error}"
    if f.archived and f.status is FileStatus.FAILED:
        line += f"\n  moved to: {f.archived}"
    return line


def _names(paths: Sequence[str]) -> str:
    names = [PurePath(p).name for p in paths]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _todo(report: InboxReport, event: str, max_reject_rate: float | None) -> str:
    """The one thing to do."""
    if event == "stuck":
        held = f" ({report.message})" if report.message else ""
        return (
            f"Another inbox run has held the lock too long{held}: check whether that process "
            "hangs and end it; the next run starts once the lock is free."
        )
    if event == "missing":
        why = report.message or "no new file arrived in time"
        return f"Check the vendor's upload: {why}."
    if event == "recovery":
        return "Nothing: this run finished cleanly after the last failed one."
    if event == "failure" and report.unreachable:
        why = (report.message or "the inbox's store did not answer").rstrip(".")
        return (
            f"{why}. Nothing was moved half-way: files not archived stay in the inbox, and the "
            "next run takes them (a file already imported is archived without being sent again)."
        )
    aborted = [f for f in report.files if f.status is FileStatus.ABORTED]
    if event == "failure" and aborted:
        f = aborted[0]
        what = f.error or "Reevo stopped the import"
        return (
            f"{what.rstrip('.')}. {f.name} stays in the inbox: the next run resumes it "
            "(rows Reevo already accepted are not sent again)."
        )
    failed = [f for f in report.files if f.status is FileStatus.FAILED]
    if event == "failure" and failed:
        f = failed[0]
        what = (f.error or "the file could not be imported").rstrip(".")
        return f"{what}. Then drop the fixed {f.name} into the inbox again."
    fix = [f.failures for f in report.files if f.failures and f.status is FileStatus.PARTIAL]
    if event == "failure":
        over = over_reject_rate(report, max_reject_rate)
        if over:
            f = over[0]
            source = f"the rows in {PurePath(f.failures).name}" if f.failures else "its rows"
            return (
                f"{reject_rate(f):.0f}% of {f.name}'s rows were rejected (over "
                f"--max-reject-rate {max_reject_rate:g}%): check the file and the mapping, fix "
                f"{source} and drop it into the inbox again."
            )
        return (
            f"{report.message or 'The run ended with exit code ' + str(report.exit_code)}: "
            "see `syncer runs` for its files, fix what it names and run again."
        )
    if fix:
        them = "it" if len(fix) == 1 else "them"
        return (
            f"Fix the rows in {_names(fix)} and drop {them} into the inbox again "
            "(rows Reevo already accepted are not sent again)."
        )
    return "See `syncer runs` for this run's files."


def alert_text(
    report: InboxReport, event: str, *, max_reject_rate: float | None = None
) -> tuple[str, str]:
    """Title and plain-text body of the alert for ``event``: short enough for a phone."""
    taken = [f for f in report.files if f.status not in (FileStatus.NOT_READY, FileStatus.UNROUTED)]
    summary = ", ".join(
        f"{n} {s.value}"
        for s in (*_PROCESSED, FileStatus.SKIPPED_DUPLICATE, FileStatus.INTERRUPTED)
        if (n := report.count(s))
    )
    title = f"syncer inbox {event}: {report.inbox}"
    if summary:
        title += f" ({summary})"
    lines = [f"Inbox: {report.inbox}" + (f" (run {report.run_id})" if report.run_id else "")]
    if report.message and event not in ("missing", "stuck"):  # those say it in "To do"
        lines.append(report.message)
    lines += [_file_line(f) for f in taken[:MAX_FILES_LISTED]]
    if len(taken) > MAX_FILES_LISTED:
        lines.append(f"... and {len(taken) - MAX_FILES_LISTED} more files (see `syncer runs`)")
    waiting = report.count(FileStatus.NOT_READY)
    unrouted = report.count(FileStatus.UNROUTED)
    if waiting:
        lines.append(f"{waiting} file(s) not ready yet (left for a later run)")
    if unrouted:
        lines.append(f"{unrouted} file(s) unrouted: no --route matches their name (left in place)")
    if not report.files and report.status is InboxStatus.OK:
        lines.append("No file in the inbox.")
    failures = [f.failures for f in report.files if f.failures]
    if failures:
        lines.append("Failures files:")
        lines += [f"  {p}" for p in failures[:MAX_FILES_LISTED]]
        if len(failures) > MAX_FILES_LISTED:
            lines.append(f"  ... and {len(failures) - MAX_FILES_LISTED} more")
    lines.append(f"To do: {_todo(report, event, max_reject_rate)}")
    return title, "\n".join(lines)


# --- masking -------------------------------------------------------------------------------------


def _looks_like_host(host: str) -> bool:
    """A real host name or address (``hooks.slack.com``, ``10.0.0.5``), not a token that an
    apprise URL keeps in the host position (``slack://T1234ABCD/...``, ``tgram://123:abc/...``)."""
    if is_loopback_host(host) or "." in host.strip("."):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def safe_url(url: str) -> str:
    """``scheme://host[:port]`` plus ``/***`` when the URL has a path or query: the form of a
    notify, webhook or ping URL a message may show (no password, path or query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"{urlsplit(url).scheme or 'url'}://{MASK}"
    scheme = parts.scheme or "url"
    if not _looks_like_host(host):
        return f"{scheme}://{MASK}"
    shown = f"[{host}]" if ":" in host else host
    if port is not None:
        shown += f":{port}"
    rest = parts.path.strip("/") or parts.query or parts.fragment
    return f"{scheme}://{shown}" + (f"/{MASK}" if rest else "")


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that may be secret (user, password, path segments, query values,
    a token in the host position), longest first, for :func:`mask`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return [url]
    found = {url, parts.path, parts.query}
    found |= {unquote(x) for x in (parts.username or "", parts.password or "")}
    found |= {unquote(seg) for seg in parts.path.split("/")}
    found |= {v for _, v in parse_qsl(parts.query, keep_blank_values=True)}
    if not _looks_like_host(host):
        found.add(host)
    # short pieces ("x", "hook") would garble messages and are not secrets worth the name
    return sorted((s for s in found if len(s) >= 6), key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longest first) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _hide(problem: str, url: str, secrets: Sequence[str]) -> str:
    """A delivery problem's text with ``secrets`` and ``url``'s secret parts masked."""
    return mask(problem, [*secrets, *url_secrets(url)])


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    """A copy of a JSON value with every secret masked in every string."""
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


# --- delivery ------------------------------------------------------------------------------------


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot take a ``--webhook`` or ``--ping``, or None: it must be https, or http
    to localhost/127.0.0.1 (a report must not travel in clear text)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return "not a valid URL; use https://host/path"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL; use https://host/path"
    if parts.scheme == "http" and not is_loopback_host(host):
        return (
            "not https, so the report would travel in clear text; use https (plain http is "
            "allowed only for localhost/127.0.0.1)"
        )
    return None


def check_alert_urls(
    *, notify: Sequence[str] = (), webhooks: Sequence[str] = (), ping_url: str | None = None
) -> None:
    """Refuse, before any import starts, alert URLs that can never work (all problems at once):
    a ``--notify`` URL apprise does not accept, a ``--webhook``/``--ping`` URL that is not https
    (or loopback http). Raises :class:`ConfigError`."""
    import apprise  # imported when alerts are used: it adds ~0.15 s to every start otherwise

    problems = [
        f"--notify {safe_url(u)}: apprise does not accept this URL; check its form in apprise's "
        "list of services (e.g. slack://TokenA/TokenB/TokenC, mailto://user:pass@host)"
        for u in notify
        if apprise.Apprise.instantiate(u) is None
    ]
    problems += [f"--webhook {safe_url(u)}: {p}" for u in webhooks if (p := http_url_problem(u))]
    if ping_url is not None and (p := http_url_problem(ping_url)):
        problems.append(f"--ping {safe_url(ping_url)}: {p}")
    if problems:
        raise ConfigError("; ".join(problems), problems)


def _http_problem(exc: httpx.HTTPError | httpx.InvalidURL, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc or 'connection refused'})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _post(url: str, *, timeout_s: float, json_body: Any = None, content: str = "") -> str | None:
    """POST to an http(s) URL; the problem (without the URL), or None when it answered 2xx."""
    if problem := http_url_problem(url):
        return problem
    headers = {"user-agent": USER_AGENT}
    try:
        with httpx.Client(timeout=timeout_s, headers=headers) as client:
            if json_body is not None:
                response = client.post(url, json=json_body)
            else:
                response = client.post(url, content=content.encode("utf-8"))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _http_problem(exc, timeout_s)
    if not response.is_success:
        return f"answered HTTP {response.status_code}"
    return None


def _notify_one(url: str, title: str, body: str, event: str, timeout_s: float) -> str | None:
    """One apprise notification; the problem (without the URL), or None when it was sent."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return "apprise does not accept this URL (check its form in apprise's list of services)"
    # bound each socket wait and the whole call: a hanging service must not hold the run
    plugin.socket_connect_timeout = timeout_s
    plugin.socket_read_timeout = timeout_s
    sender = apprise.Apprise()
    if not sender.add(plugin):
        return "apprise does not accept this URL"
    started = time.monotonic()
    try:
        result = sender.notify(
            body=body, title=title, notify_type=_NOTIFY_TYPE[event], timeout=timeout_s
        )
    except Exception as exc:  # a plugin's own bug must not change the import's outcome
        return f"apprise failed: {type(exc).__name__}: {exc}"
    if result:
        return None
    if (
        result.status is apprise.AppriseResultStatus.TIMEOUT
        or time.monotonic() - started >= timeout_s
    ):
        return f"timed out after {timeout_s:g} s"
    # apprise's warnings say why without the URL's secrets (its debug lines carry the URL)
    why = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    return f"not sent: {why[-1]}" if why else "not sent"


def deliver(
    report: InboxReport,
    events: Sequence[str],
    *,
    notify: Sequence[str],
    webhooks: Sequence[str],
    notify_on: frozenset[str],
    secrets: Sequence[str] = (),
    timeout_s: float = 10,
    max_reject_rate: float | None = None,
) -> list[str]:
    """Send each event of ``events`` that is in ``notify_on``: an apprise notification to every
    ``notify`` URL, a POST of ``report.as_json() | {"event": event}`` to every ``webhooks`` URL.

    Returns one line per delivery problem (the URL shown by :func:`safe_url`; ``secrets`` and
    every URL's secret parts masked). Never raises on a delivery problem.
    """
    errors: list[str] = []
    for event in (e for e in events if alerts_on(e, notify_on)):
        title, body = alert_text(report, event, max_reject_rate=max_reject_rate)
        title, body = mask(title, secrets), mask(body, secrets)
        for url in notify:
            problem = _notify_one(url, title, body, event, timeout_s)
            errors.extend(_delivered("notify", url, problem, secrets))
        payload = webhook_body(report, event, secrets)
        for url in webhooks:
            problem = _post(url, timeout_s=timeout_s, json_body=payload)
            errors.extend(_delivered("webhook", url, problem, secrets))
    return errors


def _delivered(channel: str, url: str, problem: str | None, secrets: Sequence[str]) -> list[str]:
    """The notified event of one delivery; its problem line (masked), if it had one."""
    hidden = _hide(problem, url, secrets) if problem else None
    emit(Notified(channel, safe_url(url), ok=problem is None, error=hidden))
    return [f"{channel} {safe_url(url)}: {hidden}"] if hidden else []


def webhook_body(report: InboxReport, event: str, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """The ``--webhook`` body: the ``--json`` object plus ``"event"``, ``secrets`` masked."""
    body: dict[str, Any] = _scrub(report.as_json() | {"event": event}, secrets)
    return body


def ping_url(url: str, suffix: str) -> str:
    """``URL/suffix`` (healthchecks.io: ``/start``, ``/<exit code>``), keeping any query."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + suffix
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def ping(
    url: str | None,
    suffix: str,
    *,
    timeout_s: float = 10,
    body: str = "",
    secrets: Sequence[str] = (),
) -> str | None:
    """The dead-man's switch: POST ``URL/start`` when a run starts, ``URL/<exit_code>`` when it
    ends (``body``, e.g. the totals line, becomes the ping's log). Returns the problem as one
    line, or None when it was received (or no ``--ping`` was given). Never raises."""
    if not url:
        return None
    problem = _post(ping_url(url, suffix), timeout_s=timeout_s, content=mask(body, secrets))
    hidden = _hide(problem, url, secrets) if problem else None
    emit(Notified(f"ping {suffix}", safe_url(url), ok=problem is None, error=hidden))
    if hidden is None:
        return None
    return f"ping {safe_url(url)} ({suffix}): {hidden}"
