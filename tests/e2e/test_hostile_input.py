"""Hostile and odd input through `syncer validate` and `syncer run --dry-run`.

Every file of the shared third-party corpus, plus generated hostile files and mappings, ends in
either a clear one-line message (exit 2, no traceback) or fully accounted results (every row
once in the results file, with a status and, when not fine, a reason) — never a traceback, a
hang or a memory blow-up. (tests/corpus/ covers read_source itself; this goes through the CLI.)
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from syncer.errors import SyncerError
from syncer.sources import read_source

from .robust_helpers import Result, invoke, results_rows

pytestmark = pytest.mark.timeout(120)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
SKIP = {"MANIFEST.md", "SHA256SUMS.txt"}
#: most memory one CLI process may reach on any hostile file
MAX_RSS_MB = 1024


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in SKIP and not p.name.startswith("LICENSE")
    )


def mapping_for(folder: Path, columns: list[str]) -> Path:
    """A mapping that feeds the file's first columns to email / first_name / company."""
    fields = ("email", "first_name", "company")
    body = {"columns": dict(zip(fields, columns, strict=False))}
    path = folder / "mapping.yaml"
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


def assert_clear_error(res: Result) -> None:
    """Exit 2 with one short error on stderr (one line, or one line per mapping problem)."""
    assert res.code == 2, (res.code, res.stderr[-2000:])
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error: "), res.stderr[-2000:]
    assert len(lines) <= 12 and all(len(ln) < 2500 for ln in lines), "too long to read"


def assert_accounted(res: Result, statuses: set[str]) -> None:
    """Exit 0/1 and every row once in the results file with a status (and a reason)."""
    assert res.code in (0, 1), (res.code, res.stderr[-2000:])
    summary = res.json
    rows = results_rows(Path(summary["results"]))
    assert len(rows) == summary["rows"]
    numbers = [r["source_row"] for r in rows]
    assert len(set(numbers)) == len(numbers), "a row appears twice"
    for r in rows:
        assert r["status"] in statuses, r["status"]
        if r["status"] not in ("ready", "duplicate"):
            assert r["error"].strip(), r
    assert summary["rows"] == sum(summary["counts"].values())
    assert res.code == (1 if summary["counts"].get("invalid") else 0)


def through_cli(source: Path, mapping: Path, folder: Path) -> None:
    """validate, then run --dry-run (no key, no network): a clear error or accounted rows."""
    for args in (
        ["validate", source, "--mapping", mapping, "--json", "--results",
         folder / "v.results.csv"],
        ["run", source, "--mapping", mapping, "--dry-run", "--json", "--quiet",
         "--results", folder / "r.results.csv", "--ledger", folder / "ledger.db"],
    ):  # fmt: skip
        res = invoke(*args)
        if res.code == 2:
            assert_clear_error(res)
        else:
            assert_accounted(res, {"ready", "duplicate", "invalid", "unchanged"})


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_every_corpus_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One test over the whole corpus (260 files): the CLI runs in-process, so it is quick."""
    monkeypatch.chdir(tmp_path)
    files = corpus_files()
    assert len(files) > 200
    outcomes = {"error": 0, "rows": 0}
    for i, path in enumerate(files):
        folder = tmp_path / str(i)
        folder.mkdir()
        try:
            columns = read_source(path).columns
        except SyncerError:
            columns = ["Email"]  # unreadable: the CLI must say so clearly
        try:
            through_cli(path, mapping_for(folder, columns), folder)
        except AssertionError as exc:
            raise AssertionError(f"{path.relative_to(CORPUS)}: {exc}") from exc
        done = (
            results_rows(folder / "v.results.csv") if (folder / "v.results.csv").exists() else None
        )
        outcomes["rows" if done is not None else "error"] += 1
    assert outcomes["rows"] > 150  # most of the corpus is usable data


# ---------------------------------------------------------------------------------------------
# generated hostile files
# ---------------------------------------------------------------------------------------------

MAPPING = "columns:\n  email: Email\n  first_name: First Name\n"


def _bytes(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


HOSTILE_SOURCES: dict[str, bytes] = {
    "empty.csv": b"",
    "header_only.csv": b"Email,First Name\n",
    "header_only_no_newline.csv": b"Email,First Name",
    "only_blank_lines.csv": b"\n\n\r\n\n",
    "binary.csv": _bytes(65536),
    "binary.xlsx": b"PK\x03\x04" + _bytes(4096),
    "binary.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + _bytes(4096),
    "text_as.xlsx": b"Email,First Name\na@b.example,A\n",
    "unterminated_quote.csv": b'Email,First Name\na@b.example,"never closed\nc@d.example,x\n',
    "mixed_encodings.csv": "Email,First Name\nj1@x.example,Jürgen\n".encode()
    + b"j2@x.example,J\xfcrgen\nj3@x.example,\x80\x81\xfe\n",
    "utf16_no_bom.csv": "Email,First Name\na@b.example,Zoë\n".encode("utf-16-le"),
    "nul_bytes.csv": b"Email,First Name\na@b.example,A\x00B\n\x00\x00\x00\n",
    "ragged.csv": b"Email,First Name\na@b.example\nc@d.example,C,extra,more\n,,,,,,\n",
    "duplicate_headers.csv": b"Email,Email,First Name,First Name\na@b.example,x@y.example,A,B\n",
    "huge_line_count_of_commas.csv": b"Email,First Name\n" + b"," * 200_000 + b"\n",
    "lone_cr.csv": b"Email,First Name\ra@b.example,A\rc@d.example,C\r",
    "bom_only.csv": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("name", list(HOSTILE_SOURCES))
def test_hostile_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / name
    source.write_bytes(HOSTILE_SOURCES[name])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    through_cli(source, mapping, tmp_path)


HOSTILE_MAPPINGS: dict[str, bytes] = {
    "not_yaml.yaml": b"columns: [unclosed\n  :: {\n\t- x",
    "a_list.yaml": b"- email: Email\n- first_name: First Name\n",
    "a_string.yaml": b"just some words",
    "empty.yaml": b"",
    "binary.yaml": b"\xff\xfe\x00c\x00o\x80\x81",
    "tabs.yaml": b"columns:\n\temail: Email\n",
    "python_tag.yaml": b"columns: !!python/object/apply:os.system ['echo pwned']\n",
    "self_alias.yaml": b"a: &a [*a]\ncolumns: {email: Email}\n",
    "deep.yaml": b"columns:\n  email: Email\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "columns_list.yaml": b"columns:\n  - Email\n",
    "null_column.yaml": b"columns:\n  email: ~\n",
    "huge_key.yaml": b"columns:\n  " + b"k" * 1_000_000 + b": Email\n",
}


@pytest.mark.parametrize("name", list(HOSTILE_MAPPINGS))
def test_hostile_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "leads.csv"
    source.write_text("Email,First Name\na@b.example,A\n", encoding="utf-8")
    mapping = tmp_path / name
    mapping.write_bytes(HOSTILE_MAPPINGS[name])
    for args in (["validate"], ["run", "--dry-run", "--ledger", tmp_path / "l.db"]):
        res = invoke(args[0], source, "--mapping", mapping, *args[1:])
        assert res.code == 2, res.stderr
        assert res.stderr.startswith("error: "), res.stderr
        assert len(res.stderr) < 3000
    assert not (tmp_path / "pwned").exists()


def test_paths_that_are_not_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    for source in (tmp_path, tmp_path / "missing.csv", Path("/dev/null")):
        for cmd in (["validate"], ["run", "--dry-run", "--ledger", tmp_path / "l.db"]):
            res = invoke(cmd[0], source, "--mapping", mapping, *cmd[1:])
            assert_clear_error(res)
    res = invoke("validate", tmp_path / "missing.csv", "--mapping", tmp_path)
    assert_clear_error(res)


# ---------------------------------------------------------------------------------------------
# the big ones run in a child process with a memory cap and a timeout
# ---------------------------------------------------------------------------------------------


def _bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text + "columns:\n  email: Email\n  first_name: *i\n"


def _capped(*args: str | Path, cwd: Path) -> Result:
    def limit() -> None:  # pragma: no cover - runs in the child
        cap = 4 * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_big_hostile_inputs_stay_bounded(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(), encoding="utf-8")
    big_cell = tmp_path / "big_cell.csv"
    big_cell.write_text(
        "Email,First Name\na@b.example," + "x" * 5_000_000 + "\nc@d.example,ok\n",
        encoding="utf-8",
    )
    wide = tmp_path / "wide.csv"
    header = ["Email", "First Name", *(f"c{i}" for i in range(2, 10_000))]
    rows = [[f"w{r}@x.example", f"W{r}", *(["v"] * 9_998)] for r in range(5)]
    wide.write_text("\n".join(",".join(x) for x in (header, *rows)) + "\n", encoding="utf-8")
    wide_missing = tmp_path / "wide_missing.csv"
    wide_missing.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n1\n", encoding="utf-8")

    res = _capped("validate", big_cell, "--mapping", bomb, cwd=tmp_path)
    assert_clear_error(res)
    assert "aliases" in res.stderr
    for source in (big_cell, wide):
        res = _capped("validate", source, "--mapping", mapping, "--json", cwd=tmp_path)
        assert_accounted(res, {"ready", "duplicate", "invalid"})
        assert res.json["rows"] in (2, 5)
    out = results_rows(tmp_path / "big_cell.results.csv")
    assert len(out[0]["First Name"]) == 5_000_000  # kept whole, not cut or split
    res = _capped("validate", wide_missing, "--mapping", mapping, cwd=tmp_path)
    assert_clear_error(res)
    assert "more)" in res.stderr  # the column list is cut short
    res = _capped("run", wide, "--mapping", mapping, "--dry-run", "--json", "--ledger",
                  tmp_path / "l.db", cwd=tmp_path)  # fmt: skip
    assert_accounted(res, {"ready", "duplicate", "invalid"})
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < MAX_RSS_MB, f"a child process reached {peak_mb:.0f} MB"
