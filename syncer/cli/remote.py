"""A SOURCE on S3 or SFTP for ``run``, ``validate`` and ``init``: the flags, and the local
copy the command reads (downloaded once, removed afterwards; its outputs go to the current
folder unless ``--results`` / ``-o`` say otherwise)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from syncer.cli.app import STATE
from syncer.errors import SyncerError

if TYPE_CHECKING:
    from syncer.storage import LocalCopy

FC = TypeVar("FC", bound=Callable[..., Any])

#: what every command reading a SOURCE imports next (loaded while a remote one downloads)
WARM_MODULES = ("syncer.runner.prepared",)


class SourceParam(click.ParamType):  # type: ignore[type-arg]  # generic since click 8.3
    """SOURCE: a local path (a :class:`Path`) or a ``scheme://`` URL (kept as text)."""

    name = "source"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from syncer.storage import is_url

        if isinstance(value, Path) or not is_url(value):
            return Path(value)
        return str(value)


SOURCE = SourceParam()


def storage_options(fn: FC) -> FC:
    """``--storage-options FILE`` and ``--sftp-insecure-accept-host-key``."""
    fn = click.option(
        "--sftp-insecure-accept-host-key",
        "sftp_insecure",
        is_flag=True,
        help="Connect to an sftp:// SOURCE whose host key is not in ~/.ssh/known_hosts "
        "(skips the check that it is the right server: not recommended).",
    )(fn)
    fn = click.option(
        "--storage-options",
        "storage_options",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="JSON or YAML file of options for an s3:// or sftp:// SOURCE's backend (s3fs, "
        "asyncssh), e.g. endpoint_url, or client_keys; credentials otherwise come from the "
        "AWS default chain or your SSH key / agent, never from the URL.",
    )(fn)
    return fn


@contextlib.contextmanager
def local_source(source: Path | str, kw: dict[str, Any]) -> Iterator[LocalCopy]:
    """SOURCE as a local file for the command: a local path as it is; a URL downloaded to a
    temporary file (removed when the block ends). Pops the storage flags from ``kw``. An error
    raised in the block names the URL, not the temporary file."""
    from syncer.storage import fetched, parse_location

    options = kw.pop("storage_options", None)
    insecure = kw.pop("sftp_insecure", False)
    location = parse_location(
        source, storage_options=options, sftp_insecure_accept_host_key=insecure
    )
    _remember_secrets(location.options)
    store = None
    if location.is_remote:
        from syncer.storage import RemoteStore

        store = RemoteStore(location)
        store.connect()  # the backend's imports, here, before the download starts
        _warm_up(WARM_MODULES)  # while the download waits on the network
    try:
        with fetched(location, store=store) as copy:
            try:
                yield copy
            except SyncerError as err:
                if copy.remote:
                    _name_the_url(err, copy)
                raise
    finally:
        if store is not None:
            store.close()


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in a background thread: the pipeline's imports (~0.5 s of CPU:
    polars, pydantic) then overlap the download, which mostly waits. The main thread imports
    them again as usual (at once if done; an error there is the real one)."""
    import importlib
    import threading

    def run() -> None:
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    threading.Thread(target=run, name="syncer-warm-up", daemon=True).start()


def default_output(copy: LocalCopy, given: Path | None, suffix: str) -> Path | None:
    """``given``, or for a remote SOURCE ``<name stem><suffix>`` in the current folder (it has
    no folder of its own here); None for a local SOURCE (the command's own default)."""
    if given is not None or not copy.remote:
        return given
    from syncer.results import default_paths

    here = Path(copy.path.name)  # relative: in the current folder
    if suffix == ".results.csv":
        return default_paths(here)[0]
    return here.with_name(f"{here.stem}{suffix}")


def _name_the_url(err: SyncerError, copy: LocalCopy) -> None:
    """Replace the temporary copy's path by the URL in ``err``'s message."""
    for text in (str(copy.path), str(copy.path.resolve())):
        err.message = err.message.replace(text, copy.url)
    err.args = (err.message,)


def _remember_secrets(options: Any) -> None:
    """Mask the secret values of --storage-options (and the AWS secrets in the environment) in
    everything the CLI prints."""
    from syncer.storage import secret_values

    STATE.secrets.update(secret_values(dict(options)))
