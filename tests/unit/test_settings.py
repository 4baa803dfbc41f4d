"""Where the API key comes from, and what the errors say to do."""

from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.runner.settings import Settings, api_key_of


def test_key_file_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REEVO_API_KEY", "from-env")
    key_file = tmp_path / "key"
    key_file.write_text(" from-file\n", encoding="utf-8")
    assert api_key_of(Settings(api_key_file=key_file)) == "from-file"


def test_empty_key_file_says_what_to_do(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is empty: put the key in it, or set REEVO_API_KEY"):
        api_key_of(Settings(api_key_file=key_file))


def test_no_key_points_at_the_env_var_and_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REEVO_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"set REEVO_API_KEY .* or try --sandbox"):
        api_key_of(Settings())
