"""The source read ahead by the command line (syncer.sources.ahead): taken when the mapping's
``source:`` settings read the file the same way, read again when they do not; its errors come
where the file is read, never for a file that is read again differently."""

from __future__ import annotations

from pathlib import Path

import pytest

import syncer.sources.ahead as ahead_module
from syncer.errors import SourceError
from syncer.runner import prepare
from syncer.sources import read_source
from syncer.sources.ahead import ReadAhead

MAPPING = "target: account_contact\ncolumns:\n  email: Email\n  first_name: Name\n"


def _semicolons(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text("Email;Name\nana@example.com;Ana\nben@example.com;Ben\n", encoding="utf-8")
    return path


def test_no_setting_takes_the_table_read_ahead(tmp_path: Path) -> None:
    path = _semicolons(tmp_path)
    ahead = ReadAhead(path)
    table = ahead.read(path)
    assert table is ahead.read(path)  # the one read, not another
    assert table.frame.equals(read_source(path).frame)


def test_settings_the_read_found_take_it_other_settings_read_again(tmp_path: Path) -> None:
    path = _semicolons(tmp_path)
    ahead = ReadAhead(path)
    table = ahead.read(path)
    assert table.delimiter == ";"
    assert ahead.read(path, delimiter=";", encoding=table.encoding) is table
    other = ahead.read(path, delimiter=",")  # read as the mapping says: one column
    assert other is not table
    assert other.columns == ["Email;Name"]


def test_another_file_is_read_itself(tmp_path: Path) -> None:
    path = _semicolons(tmp_path)
    other = tmp_path / "other.csv"
    other.write_text("Email\nzoe@example.com\n", encoding="utf-8")
    assert ReadAhead(path).read(other).columns == ["Email"]


def test_the_reads_error_comes_when_it_is_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    ahead = ReadAhead(empty)
    with pytest.raises(SourceError, match="is empty"):
        ahead.read(empty)


def test_an_encoding_named_reads_a_file_the_default_read_could_not(tmp_path: Path) -> None:
    # UTF-16 without a byte-order mark: no setting reads its header as "Email"
    path = tmp_path / "utf16.csv"
    path.write_bytes("Email,Name\nana@example.com,Ana\n".encode("utf-16-le"))
    ahead = ReadAhead(path)
    table = ahead.read(path, encoding="utf-16-le")
    assert table.columns == ["Email", "Name"]


def test_not_begun_for_a_missing_file_a_folder_or_a_file_read_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _semicolons(tmp_path)
    assert ReadAhead.begin(tmp_path / "missing.csv") is None
    assert ReadAhead.begin(tmp_path) is None
    assert ReadAhead.begin(path) is not None
    monkeypatch.setattr(ahead_module, "STREAM_BYTES", path.stat().st_size)
    assert ReadAhead.begin(path) is None


def test_prepare_with_the_read_ahead_equals_prepare_without(tmp_path: Path) -> None:
    path = _semicolons(tmp_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING + "source: {delimiter: ';'}\n", encoding="utf-8")
    with_it = prepare(path, mapping, ahead=ReadAhead(path))
    assert with_it.frame.equals(prepare(path, mapping).frame)
    assert with_it.counts()["ready"] == 2
