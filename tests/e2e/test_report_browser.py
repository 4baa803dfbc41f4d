"""Issue 13 item 2 in a real browser: the HTML report of a run with faults (5xx, 429s, invalid
rows), opened offline in headless Chromium, shows the right numbers, shows a hostile value as
text, makes no network request, fits a phone's width and prints; its screenshots (desktop and
phone) and a PDF print are kept as test artifacts.

Chromium is Debian's ``chromium`` package: when it is missing, the session installs it with
apt-get (as root, where apt is usable; under a file lock, as pytest-xdist workers share the
machine), else the tests are skipped with the reason. The page is driven through the DevTools
protocol over a pipe (``--remote-debugging-pipe``: no port, no extra library): the page's own
requests are the ``Network.requestWillBeSent`` events of its target (the browser's background
traffic is not the page's), the text is ``document.body.innerText`` as rendered, and every wait
is for an answer or an event with a deadline. The browser's own proxy is a closed port, so even
a request that slipped through could not leave the machine.

Artifacts go to ``$SYNCER_TEST_ARTIFACTS`` (default: the test's tmp folder); their paths are
printed (``pytest -s`` or ``-rP`` shows them).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wait_helpers import wait_until

from .cli_helpers import private_env, syncer
from .ledger_helpers import ENDPOINT, HEADER, lead, sandbox, write_mapping

#: the browser may have to be installed first: generous
pytestmark = pytest.mark.timeout(1800)

HOSTILE = "<script>alert(1)</script>"
ARTIFACTS_ENV = "SYNCER_TEST_ARTIFACTS"
#: one DevTools answer or event; a loaded 2-core machine must never hit it
DEADLINE_S = 90.0
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


# -- the browser ----------------------------------------------------------------------------
def _find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _apt_install() -> str:
    """Install Debian's chromium (apt-get update first when the package is unknown); the
    output's tail, for the skip reason."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "chromium"]
    update = ["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"]
    try:  # hang guards: a mirror that never answers ends in a skip naming it, not a stuck suite
        out = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            subprocess.run(update, env=env, capture_output=True, text=True, timeout=300)
            out = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        return f"{' '.join(map(str, exc.cmd))} did not finish within {exc.timeout:g} s"
    return (out.stdout + out.stderr)[-600:]


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium binary, installed with apt-get when missing (or skip)."""
    found = _find_browser()
    if found:
        return found
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and cannot be: run as root on Debian/Ubuntu, or "
                    "install the chromium package")  # fmt: skip
    import fcntl  # POSIX only, as apt-get is

    lock = Path(tempfile.gettempdir()) / "syncer-tests-chromium-install.lock"
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # one worker installs, the others wait and find it
        found = _find_browser()
        tail = "" if found else _apt_install()
        found = found or _find_browser()
    if found is None:
        pytest.skip(f"Chromium could not be installed with apt-get: ...{tail}")
    return found


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser, self._in = os.pipe()
        self._out, from_browser = os.pipe()
        flags = [
            "--headless",
            "--no-sandbox",  # as root, as CI runs
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--hide-scrollbars",
            "--proxy-server=http://127.0.0.1:9",  # a closed port: nothing can leave
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # the protocol's pipe is the browser's fd 3 (it reads) and fd 4 (it writes): a tiny
        # Python exec wrapper puts them there (no preexec_fn in a process with threads)
        wrap = "import os,sys;os.dup2(int(sys.argv[1]),3);os.dup2(int(sys.argv[2]),4);"
        wrap += "os.execv(sys.argv[3],sys.argv[3:])"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", wrap, str(to_browser), str(from_browser), binary, *flags],
            pass_fds=(to_browser, from_browser),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(profile)},
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Call ``method``; its result (a protocol error fails the test)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._in, json.dumps(msg).encode() + b"\0")
        mine = self._id
        answer = self.wait_for(lambda m: m.get("id") == mine, f"the answer to {method}")
        assert "error" not in answer, (method, answer["error"])
        return answer["result"]

    def wait_for(self, match: Any, what: str) -> dict[str, Any]:
        """The first message (answer or event) ``match`` accepts, read within the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "method" in msg:
                    self.events.append(msg)
                if match(msg):
                    return dict(msg)
            left = deadline - time.monotonic()
            assert left > 0, f"Chromium did not send {what} within {DEADLINE_S:.0f} s"
            ready, _, _ = select.select([self._out], [], [], left)
            if ready:
                chunk = os.read(self._out, 1 << 20)
                assert chunk, f"Chromium exited (code {self.proc.poll()}) before {what}"
                self._buf += chunk

    def open(self, path: Path) -> Page:
        """A new tab showing ``path`` once it has loaded (its requests recorded from the start)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session, path.resolve().as_uri())
        for domain in ("Network.enable", "Page.enable", "Runtime.enable"):
            self.send(domain, session=session)
        self.send("Page.navigate", {"url": page.url}, session=session)
        self.wait_for(
            lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session,
            f"the load event of {page.url}",
        )
        return page

    def close(self) -> None:
        with contextlib.suppress(OSError, AssertionError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        os.close(self._in)
        os.close(self._out)


class Page:
    """One tab of :class:`Browser`."""

    def __init__(self, browser: Browser, session: str, url: str) -> None:
        self.browser, self.session, self.url = browser, session, url

    def eval(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (DevTools evaluates past the page's CSP)."""
        result = self.browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self.session
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def requests(self) -> list[str]:
        """Every URL this page asked for so far (itself included)."""
        return [
            e["params"]["request"]["url"]
            for e in self.browser.events
            if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == self.session
        ]

    def console(self) -> list[str]:
        """What the page wrote to its console, and CSP or script errors."""
        out = []
        for e in self.browser.events:
            if e.get("sessionId") != self.session:
                continue
            if e.get("method") == "Runtime.consoleAPICalled":
                out.append(json.dumps(e["params"].get("args")))
            elif e.get("method") == "Runtime.exceptionThrown":
                out.append(json.dumps(e["params"]))
        return out

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1,
             "mobile": mobile},
            self.session,
        )  # fmt: skip

    def screenshot(self, path: Path) -> Path:
        """The whole page (beyond the viewport) as a PNG at ``path``."""
        shot = self.browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            self.session,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def pdf(self, path: Path) -> Path:
        """The page as printed (the print CSS), A4, as a PDF at ``path``."""
        out = self.browser.send(
            "Page.printToPDF",
            {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True},
            self.session,
        )
        path.write_bytes(base64.b64decode(out["data"]))
        return path


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.send("Browser.getVersion")
        yield b
    finally:
        b.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where the screenshots are kept: $SYNCER_TEST_ARTIFACTS, else the test's tmp folder."""
    root = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "artifacts")
    root.mkdir(parents=True, exist_ok=True)
    return root


# -- the report -----------------------------------------------------------------------------
def _number(text: str, label: str) -> int:
    """The number of a headline card (rendered as the number, then its label, on two lines)."""
    found = re.search(rf"([\d,]+)\n{re.escape(label)}\n", text)
    assert found, f"no '{label}' card in:\n{text[:1500]}"
    return int(found.group(1).replace(",", ""))


def _faulty_source(path: Path, n: int) -> tuple[Path, int]:
    """``n`` leads; every 25th e-mail cell holds a hostile company name instead (invalid)."""
    bad = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(n):
            row = lead(i)
            if i % 25 == 4:
                row[0] = row[3] = HOSTILE  # the company, slipped into the e-mail column
                bad += 1
            w.writerow(row)
    return path, bad


def test_the_report_of_a_faulty_run_reads_right_in_chromium_and_loads_nothing(
    tmp_path: Path, browser: Browser, artifacts: Path
) -> None:
    source, bad = _faulty_source(tmp_path / "leads.csv", 100)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox(fail_rate=0.1, rate_limit=40, rate_burst=2) as sb:
        res = syncer(
            "run", source, "--mapping", mapping, "--json", "-q", "--concurrency", "4",
            cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url, env=private_env(tmp_path),
        )  # fmt: skip
        answered = Counter(sb.admin.stats()["by_path_status"][ENDPOINT])
    summary = res.json
    assert res.code == 1, res.stderr  # the invalid rows
    fives = sum(n for status, n in answered.items() if status.startswith("5"))
    assert answered["429"] > 0 and fives > 0, answered  # the faults happened
    assert summary["throttled"] == answered["429"] and summary["invalid"] == bad
    report = Path(summary["report"])
    assert report == tmp_path / "leads.report.html" and f"report:   {report}" in res.stdout
    wait_until(lambda: report.is_file() and report.stat().st_size > 0, f"{report} written")

    page = browser.open(report)
    text = page.eval("document.body.innerText")
    # offline: the page asked for nothing but itself, ran no script, embeds nothing
    assert page.requests() == [report.resolve().as_uri()], page.requests()
    assert page.eval("document.querySelectorAll('script,img,iframe,link,object,embed').length") == 0
    assert page.console() == []
    # the numbers, as the browser renders them
    assert "leads.csv" in page.eval("document.title")
    assert "Exit code 1: some rows are invalid, failed or were not attempted." in text
    assert _number(text, "rows") == summary["rows"] == 100
    assert _number(text, "succeeded") == summary["succeeded"] == 100 - bad
    assert _number(text, "invalid") == bad
    assert _number(text, "requests") == summary["requests"]
    assert _number(text, "retries") == summary["retries"] > 0
    assert _number(text, "429 answers") == summary["throttled"]
    assert f"invalid_email · {bad} rows (invalid)" in text
    assert f"429 answers: {summary['throttled']} (peak" in text
    assert f"retries: {summary['retries']} (peak" in text
    assert "Requests per second" in text and "Passed: the key works" in text
    assert f"syncer run {tmp_path / 'leads.failures.csv'} --mapping {mapping}" in text
    # the hostile company name is shown as text, exactly, in the examples
    assert f'Email "{HOSTILE}" is not a valid e-mail address' in text
    assert page.eval(
        "[...document.querySelectorAll('td.value')].filter(td => td.textContent === "
        f"{json.dumps(HOSTILE)}).length"
    ) == min(bad, 5)  # fmt: skip
    # the status bar is drawn to scale, and both charts have a size
    widths = dict(
        page.eval(
            "[...document.querySelectorAll('.bar span')]"
            ".map(s => [s.className, s.getBoundingClientRect().width])"
        )
    )
    total = sum(widths.values())
    assert abs(widths["st-invalid"] / total - bad / 100) < 0.02, widths
    boxes = page.eval(
        "[...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().height)"
    )
    assert len(boxes) == 2 and min(boxes) > 50, boxes

    page.viewport(1280, 900)
    desktop = page.screenshot(artifacts / "report-desktop.png")
    # a phone: nothing wider than the screen (tables scroll inside their own box)
    page.viewport(390, 844, mobile=True)
    assert page.eval("document.documentElement.scrollWidth") <= 390
    phone = page.screenshot(artifacts / "report-phone.png")
    printed = page.pdf(artifacts / "report-print.pdf")
    for made in (desktop, phone, printed):
        wait_until(lambda made=made: made.is_file() and made.stat().st_size > 1000, f"{made}")
    assert desktop.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and printed.read_bytes()[:5] == b"%PDF-"
    print(f"\nreport screenshots: {desktop} {phone}\nprinted: {printed}")
    assert page.requests() == [report.resolve().as_uri()]  # still nothing, after all that

    # `syncer runs show RUN --report` writes the same report again from the ledger
    report.unlink()
    shown = syncer(
        "runs", "show", str(summary["run_id"]), "--report", "--json",
        cwd=tmp_path, env=private_env(tmp_path),
    )  # fmt: skip
    assert shown.code == 0 and shown.json["report"] == str(report), shown.stderr
    assert f"report:        {report}" in shown.stdout
    again = browser.open(report).eval("document.body.innerText")
    assert _without_time(again) == _without_time(text)


def _without_time(text: str) -> str:
    return re.sub(r"written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", "written", text)


def test_the_request_check_sees_a_page_that_loads_something(
    tmp_path: Path, browser: Browser
) -> None:
    """The check above can fail: a page with an image and a stylesheet elsewhere is caught."""
    page_file = tmp_path / "leaky.html"
    page_file.write_text(
        "<!DOCTYPE html><p>x</p><img src='http://example.invalid/pixel.png'>"
        "<link rel=stylesheet href='https://fonts.example.invalid/a.css'>",
        encoding="utf-8",
    )
    page = browser.open(page_file)
    wanted = {"http://example.invalid/pixel.png", "https://fonts.example.invalid/a.css"}
    assert wanted <= set(page.requests()), page.requests()
