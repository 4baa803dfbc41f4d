"""The ``syncer`` command line: the only package that parses flags, prints, draws progress or
exits. :mod:`.app` holds the group, error output and ``main``; one module per command family.
"""

from syncer.cli import fields, inbox, init, run, runs, sandbox, validate  # noqa: F401  (registers the commands)
from syncer.cli.app import EXIT_BUG, STATE, cli, emit_json, fail, main, remember_key_file, scrub

__all__ = ["EXIT_BUG", "STATE", "cli", "emit_json", "fail", "main", "remember_key_file", "scrub"]
