"""The flags ``run`` and ``validate`` take for a job file (``--job``, ``--results-dir``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def job_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--job FILE`` (instead of SOURCE and --mapping) and ``--results-dir DIR``."""
    fn = click.option(
        "--results-dir",
        "results_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="With --job: write each step's results and failures files in this folder (a "
        "step's own `results:` wins) instead of beside its source.",
    )(fn)
    return click.option(
        "--job",
        "job_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Job YAML listing steps ({source, mapping} pairs, paths relative to it) to run "
        "in order, instead of SOURCE and --mapping.",
    )(fn)
