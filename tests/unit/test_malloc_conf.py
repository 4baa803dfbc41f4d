"""The ``syncer`` command sets polars' allocator (``_RJEM_MALLOC_CONF``) before polars loads,
unless the user set it (docs/benchmarks.md, "Memory at 1M and 5M rows")."""

from __future__ import annotations

import os
import subprocess
import sys

from syncer.cli import app

#: prints the allocator setting polars started with, after ``main()`` ran ``syncer --version``
PROBE = """
import os, sys
from syncer.cli import main
assert "polars" not in sys.modules, "polars was imported before main() could set its allocator"
sys.argv = ["syncer", "--version"]
try:
    main()
except SystemExit:
    pass
import polars
print("CONF=" + os.environ["_RJEM_MALLOC_CONF"])
"""


def _conf(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return next(x for x in done.stdout.splitlines() if x.startswith("CONF=")).removeprefix("CONF=")


def test_main_sets_the_allocator_before_polars_loads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    conf = _conf(env)
    # polars puts its defaults first and a setting found in the environment after (it wins)
    assert conf.endswith("," + app.MALLOC_CONF)


def test_a_users_own_setting_wins() -> None:
    env = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:2000"}
    conf = _conf(env)
    assert conf.endswith(",dirty_decay_ms:2000")
    assert app.MALLOC_CONF not in conf
