"""The ready-to-copy files in deploy/ are valid for their scheduler, and every command in them is
a valid ``syncer inbox`` invocation: parsed by click on the real command (flags, durations,
HH:MM, routes), with the values the command itself checks later (time zone, --notify-on,
readiness, alert URLs) checked too. Each names SYNCER_LEDGER and reads the key from a file."""

from __future__ import annotations

import configparser
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import pytest
import yaml

from syncer.cli import cli
from syncer.errors import SyncerError
from syncer.inbox.alerts import check_alert_urls, parse_notify_on
from syncer.inbox.scan import Readiness

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SERVICE = DEPLOY / "systemd" / "syncer-inbox.service"
TIMER = DEPLOY / "systemd" / "syncer-inbox.timer"
SYSTEMD_ENV = DEPLOY / "systemd" / "inbox.env.example"
CRONTAB = DEPLOY / "cron" / "syncer-inbox.crontab"
CRONJOB = DEPLOY / "kubernetes" / "syncer-inbox-cronjob.yaml"
TASK_XML = DEPLOY / "windows" / "syncer-inbox-task.xml"
TASK_CMD = DEPLOY / "windows" / "syncer-inbox.cmd"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}

# a placeholder a scheduler fills in at run time -> a value of the right form, for the parser
K8S_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
SYSTEMD_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SHELL_REDIRECT = re.compile(r"^(\d?>>?|\d?>&\d|<)")


def parse_inbox(argv: list[str]) -> click.Context:
    """``argv`` (program first) parsed by click as the real ``syncer inbox`` parses it, plus the
    checks the command makes on its values before it starts. Raises on anything invalid."""
    program, *args = argv
    assert re.fullmatch(r"syncer(\.exe)?", re.split(r"[\\/]", program)[-1]), program
    assert args and args[0] == "inbox", f"not a `syncer inbox` command: {argv}"
    group = cli.make_context("syncer", list(args))
    name, command, rest = cli.resolve_command(group, list(args))
    assert name == "inbox" and command is not None
    ctx = command.make_context(name, rest, parent=group)
    p: dict[str, Any] = ctx.params
    # what inbox_cmd / run_inbox check once they start
    parse_notify_on(p["notify_on"])
    if p["tz"] is not None:
        ZoneInfo(p["tz"])
    Readiness(min_age_s=p["min_age_s"], settle_s=p["settle_s"], ready_marker=p["ready_marker"])
    check_alert_urls(notify=p["notify"], webhooks=p["webhooks"], ping_url=p["ping"])
    # what every deploy file must do
    assert p["mapping_path"] is not None or p["routes"], "needs --mapping or --route"
    assert p["api_key_file"] is not None, "the key must come from a file (--api-key-file)"
    assert not p["sandbox"] and not p["dry_run"], "a scheduled run imports for real"
    return ctx


def without_redirects(words: list[str]) -> list[str]:
    """The command's own words: the shell's ``>> log 2>&1`` at the end taken off."""
    for i, word in enumerate(words):
        if SHELL_REDIRECT.match(word):
            return words[:i]
    return words


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


# ------------------------------------------------------------------------------------- systemd


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def test_systemd_service_is_a_oneshot_inbox_run_with_one_ledger_and_a_key_file() -> None:
    service = unit(SERVICE)["Service"]
    assert service["Type"] == "oneshot"
    ledger = re.fullmatch(r"SYNCER_LEDGER=(/\S+\.db)", service["Environment"])
    assert ledger, service["Environment"]
    state = PurePosixPath("/var/lib") / service["StateDirectory"]
    assert PurePosixPath(ledger.group(1)).parent == state, "the ledger lives in StateDirectory"
    credential, _, source = service["LoadCredential"].partition(":")
    assert source.startswith("/etc/"), source

    # systemd joins lines that end in a backslash, then fills ${VAR} from EnvironmentFile=
    exec_start = re.sub(r"\\\n\s*", " ", service["ExecStart"])
    values = env_file(SYSTEMD_ENV) | {"CREDENTIALS_DIRECTORY": "/run/credentials/x.service"}
    assert set(SYSTEMD_VAR.findall(exec_start)) <= set(values), "every ${VAR} has a value"
    assert service["EnvironmentFile"].endswith("/inbox.env")
    ctx = parse_inbox(shlex.split(SYSTEMD_VAR.sub(lambda m: values[m.group(1)], exec_start)))
    assert ctx.params["api_key_file"] == Path(f"/run/credentials/x.service/{credential}")
    assert "REEVO_API_KEY" not in SERVICE.read_text(), "never the key in a world-readable unit"


def test_systemd_timer_is_persistent_and_starts_the_service() -> None:
    timer = unit(TIMER)
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Unit"] == SERVICE.name
    assert timer["Install"]["WantedBy"] == "timers.target"


# ---------------------------------------------------------------------------------------- cron

CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def test_crontab_line_names_the_ledger_and_runs_a_valid_inbox_command() -> None:
    lines = [
        line
        for line in CRONTAB.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    env = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))
    assert env["SYNCER_LEDGER"].startswith("/"), "cron does not expand variables: absolute path"
    jobs = [line for line in lines if not re.match(r"^[A-Z_]+=", line)]
    assert len(jobs) == 1, jobs
    fields = jobs[0].split(None, 5)
    assert all(CRON_FIELD.match(f) for f in fields[:5]), fields[:5]
    command = fields[5]
    assert "%" not in command, "cron turns % into a line break"
    assert "flock" not in command, "syncer's own lock replaces flock (see the comment)"
    parse_inbox(without_redirects(shlex.split(command)))


# ---------------------------------------------------------------------------------- kubernetes


def test_kubernetes_cronjob_forbids_overlap_keeps_the_ledger_and_reads_the_key_secret() -> None:
    docs = list(yaml.safe_load_all(CRONJOB.read_text(encoding="utf-8")))
    (job,) = [d for d in docs if d["kind"] == "CronJob"]
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    assert job["apiVersion"] == "batch/v1"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    ZoneInfo(job["spec"]["timeZone"])
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}

    def volume_of(path: str) -> dict[str, Any]:
        (where,) = [m for m in mounts if PurePosixPath(path).is_relative_to(m)]
        return mounts[where]

    env = {e["name"]: e for e in container["env"]}
    ledger = volume_of(env["SYNCER_LEDGER"]["value"])
    assert ledger["persistentVolumeClaim"]["claimName"] in claims, "the ledger outlives the pod"

    # Kubernetes fills $(VAR) in args from the container's env (here: from Secrets)
    assert set(K8S_VAR.findall(" ".join(container["args"]))) <= set(env)
    for name in K8S_VAR.findall(" ".join(container["args"])):
        assert "secretKeyRef" in env[name]["valueFrom"], f"{name}: alert URLs come from a Secret"
    stand_in = {"SYNCER_NOTIFY": "slack://TokenA/TokenB/TokenC", "SYNCER_PING": "https://h.io/x"}
    args = [K8S_VAR.sub(lambda m: stand_in[m.group(1)], str(a)) for a in container["args"]]
    ctx = parse_inbox([*container["command"], *args])
    key_volume = volume_of(str(ctx.params["api_key_file"]))
    assert "secret" in key_volume, "the key comes from a Secret volume"
    assert not any(e["name"] == "REEVO_API_KEY" and "value" in e for e in container["env"])


# ------------------------------------------------------------------------------------- windows


def cmd_words(text: str) -> list[str]:
    """A cmd.exe command line split into words (``^`` continues a line; no backslash escapes)."""
    lexer = shlex.shlex(re.sub(r"\^\r?\n", " ", text), posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    return list(lexer)


def test_windows_task_runs_the_script_once_at_a_time_and_catches_up() -> None:
    task = ET.parse(TASK_XML).getroot()
    settings = task.find("t:Settings", TASK_NS)
    assert settings is not None
    assert settings.findtext("t:MultipleInstancesPolicy", namespaces=TASK_NS) == "IgnoreNew"
    assert settings.findtext("t:StartWhenAvailable", namespaces=TASK_NS) == "true"
    assert task.find("t:Triggers/t:CalendarTrigger", TASK_NS) is not None
    command = task.findtext("t:Actions/t:Exec/t:Command", namespaces=TASK_NS)
    assert command is not None and PureWindowsPath(command).name == TASK_CMD.name


def test_windows_script_names_the_ledger_and_runs_a_valid_inbox_command() -> None:
    assert b"\r\n" in TASK_CMD.read_bytes(), "cmd.exe scripts keep CRLF line ends"
    text = TASK_CMD.read_text(encoding="utf-8")
    lines = [ln for ln in re.sub(r"\^\r?\n", " ", text).splitlines() if ln.strip()]
    ledger = [ln for ln in lines if re.match(r'(?i)^set "SYNCER_LEDGER=[A-Z]:\\.+\.db"$', ln)]
    assert ledger, "set SYNCER_LEDGER to an absolute path"
    runs = [ln for ln in lines if re.search(r"^\S*syncer(\.exe)?\s+inbox\b", ln)]
    assert len(runs) == 1, runs
    parse_inbox(without_redirects(cmd_words(runs[0])))


# -------------------------------------------------------------------------------------- shared


def test_every_deploy_file_names_the_ledger_and_no_key() -> None:
    for path in (SERVICE, CRONTAB, CRONJOB, TASK_CMD, TASK_XML):
        text = path.read_text(encoding="utf-8")
        assert "SYNCER_LEDGER" in text, path
        assert not re.search(r"REEVO_API_KEY\s*[=:]\s*\S", text), f"{path}: a key inline"


def test_the_readme_points_at_every_deploy_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running it nightly", 1)[1].split("\n## ", 1)[0]
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        assert path.relative_to(ROOT).as_posix() in section, path


BASE = ["syncer", "inbox", "/in", "--mapping", "m.yaml", "--api-key-file", "k"]


@pytest.mark.parametrize(
    "argv",
    [
        [*BASE, "--min-age", "x"],
        [*BASE, "--expect-by", "7"],
        [*BASE, "--no-such-flag"],
        [*BASE, "--tz", "Mars/Olympus"],
        [*BASE, "--notify-on", "failures"],
        [*BASE, "--ping", "http://example.com/x"],  # clear text off loopback
        BASE[:5],  # the key from the environment
        ["syncer", "run", "x.csv", *BASE[3:]],
    ],
)
def test_the_checker_refuses_what_would_not_run(argv: list[str]) -> None:
    with pytest.raises((click.ClickException, SyncerError, ZoneInfoNotFoundError, AssertionError)):
        parse_inbox(argv)
