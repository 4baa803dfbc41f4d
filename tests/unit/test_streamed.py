"""A large text file read, checked and written a batch at a time (issue 15: memory that does not
grow with the file) gives what the whole-file path gives: the same rows, statuses, messages,
notes, dedupe across batches, and results/failures files byte for byte.

Batches are made tiny here (a few hundred bytes), so every generated file is cut into dozens
of them and duplicates sit many batches apart."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import pytest

import syncer.results as results_module
import syncer.runner.streamed as streamed
import syncer.sources.batches as batches
import syncer.sources.spill as spill
from syncer.csvfiles import CsvStyle
from syncer.runner import prepare, validate
from syncer.sources import read_source
from syncer.sources.batches import NotStreamable, open_batches

HEAD = ["First Name", "Email", "Phone", "Website", "Tags", "Notes"]
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: US}
  account_website: Website
contact_custom_fields:
  cus_field__Tags: {column: Tags, split: ";"}
dedupe: {keep: KEEP}
"""
#: on_invalid and on_empty: clear (its note counts blank values of the ready rows)
FORGIVING = """\
target: account_contact
on_empty: clear
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: US, on_invalid: drop}
  account_website: {column: Website, on_invalid: warn}
contact_custom_fields:
  cus_field__Tags: {column: Tags, split: ";"}
"""


def _rows(n: int, seed: int) -> list[list[str]]:
    """Lead rows whose e-mails repeat far apart (other case, spaces), some invalid or blank,
    formula-like and non-ASCII cells, quoted cells with the delimiter."""
    rnd = random.Random(seed)
    emails: list[str] = []
    rows = []
    for i in range(n):
        r = rnd.random()
        if r < 0.15 and emails:
            email = f"  {rnd.choice(emails).upper()} "
        elif r < 0.2:
            email = f"bad{i}@@x"
        elif r < 0.23:
            email = ""
        else:
            email = f"u{i}@Example.com"
        emails.append(email.strip())
        rows.append(
            [
                rnd.choice(["Ana", "Zoe\u0308", "Cafe\u0301", "-minus", "=1+1", ""]),
                email,
                rnd.choice(["(415) 555-0100", "+44 20 7946 0958", "123", "", "415-555-0101 x9"]),
                rnd.choice(["acme.com", "not a url", "", "http://x.io"]),
                rnd.choice(["a;b", ";;", "", "x; y ;x"]),
                rnd.choice(["plain", "with, comma", 'a "quote"', "@at", ""]),
            ]
        )
    return rows


def _write(path: Path, rows: list[list[str]], **kw: object) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=str(kw.get("eol", "\n"))).writerows([HEAD, *rows])
    data = buf.getvalue().encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if kw.get("bom") else b"") + data)
    return path


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is streamed, ~400 bytes a batch, the source columns spilled to disk."""
    monkeypatch.setattr(streamed, "STREAM_BYTES", 0)
    monkeypatch.setattr(batches, "BATCH_BYTES", 400)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 0)
    monkeypatch.setattr(streamed, "VALUES_MEMORY", 0)


def _whole_then_streamed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: Path, mapping: Path
) -> tuple[dict[str, bytes | None], dict[str, bytes | None]]:
    out: list[dict[str, bytes | None]] = []
    for name, size in (("whole", 1 << 62), ("streamed", 0)):
        monkeypatch.setattr(streamed, "STREAM_BYTES", size)
        results = tmp_path / f"{name}.results.csv"
        summary = validate(source, mapping, results=results)
        failures = summary.failures_path
        out.append(
            {
                "results": results.read_bytes(),
                "failures": failures.read_bytes() if failures else None,
                "summary": repr(
                    [
                        *(summary.rows, summary.counts, summary.blank_rows, summary.notes),
                        *(summary.issues, summary.warnings),
                    ]
                ).encode(),
            }
        )
    return out[0], out[1]


@pytest.mark.parametrize("keep", ["first", "last"])
@pytest.mark.parametrize("layout", ["plain", "crlf_bom"])
def test_validate_streamed_is_the_whole_file_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: str, layout: str
) -> None:
    monkeypatch.setattr(batches, "BATCH_BYTES", 400)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 2000)  # some batches in memory, the rest on disk
    rows = _rows(600, seed=len(keep) + len(layout))
    rows.insert(50, [""] * len(HEAD))  # a blank row (counted, dropped)
    kw = {"eol": "\r\n", "bom": True} if layout == "crlf_bom" else {}
    source = _write(tmp_path / "leads.csv", rows, **kw)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", keep), encoding="utf-8")
    whole, streamed_out = _whole_then_streamed(monkeypatch, tmp_path, source, mapping)
    assert streamed_out == whole
    assert b"duplicate of row" in (whole["results"] or b"")  # duplicates there were, across batches


def test_failures_read_again_when_too_many_to_keep_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past _COLLECT_ROWS rows to fix, the failures file is written from a second pass over
    the spill: the same bytes."""
    monkeypatch.setattr(results_module, "_COLLECT_ROWS", 0)
    monkeypatch.setattr(batches, "BATCH_BYTES", 400)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 0)
    source = _write(tmp_path / "leads.csv", _rows(300, seed=9))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", "last"), encoding="utf-8")
    whole, streamed_out = _whole_then_streamed(monkeypatch, tmp_path, source, mapping)
    assert streamed_out == whole and whole["failures"]


@pytest.mark.parametrize("keep_aside", [True, False])
def test_a_second_pass_over_the_spill_counts_and_keeps_its_rows_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_aside: bool
) -> None:
    """A results file written twice from the spill (as a rewrite in UTF-8 does) counts each
    row once and gives each row to fix once: the same bytes and counts as the whole file."""
    if not keep_aside:
        monkeypatch.setattr(results_module, "_COLLECT_ROWS", 0)
    monkeypatch.setattr(batches, "BATCH_BYTES", 400)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 0)
    write_file = results_module._write_csv_file

    def twice(
        path: Path, parts: Callable[[], Iterable[pl.DataFrame]], style: CsvStyle, notes: list[str]
    ) -> None:
        for _ in parts():  # a first pass thrown away, as before a rewrite
            pass
        write_file(path, parts, style, notes)

    monkeypatch.setattr(results_module, "_write_csv_file", twice)
    source = _write(tmp_path / "leads.csv", _rows(300, seed=11))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", "last"), encoding="utf-8")
    whole, streamed_out = _whole_then_streamed(monkeypatch, tmp_path, source, mapping)
    assert streamed_out == whole and whole["failures"]


def test_forgiving_mapping_and_notes_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "BATCH_BYTES", 300)
    source = _write(tmp_path / "leads.csv", _rows(400, seed=3))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FORGIVING, encoding="utf-8")
    whole, streamed_out = _whole_then_streamed(monkeypatch, tmp_path, source, mapping)
    assert streamed_out == whole
    assert b"on_empty: clear cannot clear" in (whole["summary"] or b"")


def test_prepare_streamed_keeps_the_values_to_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_batches: None
) -> None:
    source = _write(tmp_path / "leads.csv", _rows(300, seed=5))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", "last"), encoding="utf-8")
    got = prepare(source, mapping)
    assert got.spill is not None and got.spill.on_disk
    monkeypatch.setattr(streamed, "STREAM_BYTES", 1 << 62)
    want = prepare(source, mapping)
    assert want.spill is None
    # the values to send are spilled, not kept; the outcome columns are the same
    assert got.values is not None and got.values.on_disk
    assert not {f.out for f in got.fields} & set(got.frame.columns)
    assert got.frame.equals(want.frame.select(got.frame.columns))
    assert got.counts() == want.counts() and got.notes == want.notes
    assert got.digests().equals(want.digests())
    assert pl.concat(list(got.digest_parts())).equals(want.digests())
    assert list(got.iter_bodies()) == list(want.iter_bodies())
    some = want.digests()["source_row"].gather_every(7, offset=3)
    assert list(got.iter_bodies(some)) == list(want.iter_bodies(some))
    assert got.spill.frame().equals(want.frame.select(*want.headers))


def test_workbook_results_of_a_streamed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_batches: None
) -> None:
    source = _write(tmp_path / "leads.csv", _rows(200, seed=7))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", "last"), encoding="utf-8")
    tables = []
    for size in (0, 1 << 62):
        monkeypatch.setattr(streamed, "STREAM_BYTES", size)
        results = tmp_path / f"{size}.results.xlsx"
        validate(source, mapping, results=results, results_format="xlsx")
        tables.append(read_source(results).frame)
    assert tables[0].equals(tables[1])


FILES = {
    "blank_rows_footer": (
        "a,b\n1,2\n\n,\n3,4\n\n"
        '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved.",\n'
        "Confidential Information - Do Not Distribute,\n"
    ),
    "preamble": ",\n,\na,b\n1,2\n3,4\n",
    "quoted": 'a,b\n"x, y",""\n"",z\n"\'=1",w\n',
    "short_rows": "a,b,c\n1\n2,3\n4,5,6\n",
    "semicolon": "a;b\n1;2\n3;4\n",
    "header_only": "a,b\n",
    "no_final_newline": "a,b\n1,2\n3,4",
}


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("size", [1, 5, 64])
def test_batches_are_the_whole_read(tmp_path: Path, name: str, size: int) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_text(FILES[name], encoding="utf-8")
    whole = read_source(path)
    got = open_batches(path, None, None, size)
    parts = list(got)
    frame = pl.concat(parts) if parts else got.table.frame
    assert got.table.columns == whole.columns
    assert frame.equals(whole.frame)
    assert got.table.blank_rows == whole.blank_rows
    assert (got.table.delimiter, got.table.bom) == (whole.delimiter, whole.bom)


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2\n3,4,5\n",  # a row wider than the header: the careful reader
        b'a,b\n"multi\nline",2\n',  # a quoted newline
        b"a,b\rc,d\r",  # CR line ends
        "a,b\nCaf\xe9,1\n".encode("cp1252"),  # not UTF-8
    ],
)
def test_files_the_careful_reader_takes_are_not_streamed(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(data)
    with pytest.raises(NotStreamable):
        list(open_batches(path, None, None, 4))


def test_odd_files_fall_back_to_the_whole_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_batches: None
) -> None:
    """A file found odd after some batches were read is prepared whole: same result."""
    rows = _rows(200, seed=11)
    rows[150][5] = "multi\nline"
    source = _write(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("KEEP", "last"), encoding="utf-8")
    got = prepare(source, mapping)
    assert got.spill is None
    assert got.frame.height == 200


_LEFT_OPEN = """\
import sys, threading
import syncer.sources.batches as batches
from pathlib import Path

batches._AHEAD = 1
got = batches.open_batches(Path(sys.argv[1]), None, None, size=64)
next(iter(got))  # one batch taken, the next one parsed and waiting: never closed
reader = [t for t in threading.enumerate() if t.name == "syncer-read"]
print("daemon" if reader and reader[0].daemon else "joined", flush=True)
sys.exit(3)
"""


def test_batches_left_open_let_the_process_exit_and_are_waited_for(tmp_path: Path) -> None:
    """A run that fails with its batches not all taken and not closed: the reader thread is
    waited for at exit (never inside polars while the process shuts down), and it ends
    because the main thread did, so the process exits with its own code and does not hang."""
    source = _write(tmp_path / "leads.csv", _rows(300, seed=13))
    script = tmp_path / "left_open.py"
    script.write_text(_LEFT_OPEN, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(source)],
        capture_output=True,
        text=True,
        timeout=120,  # a deadline for a hang, not a timing: it ends in well under a second
    )
    assert (done.returncode, done.stdout.strip()) == (3, "joined"), done.stderr
