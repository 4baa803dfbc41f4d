"""Where a SOURCE or an inbox DIR lives: a local path, ``s3://bucket/key`` or
``sftp://user@host[:port]/path``, parsed once into a :class:`Location`.

A URL that carries a password (or, on S3, an access key) is refused: credentials come from each
backend's standard sources (the AWS default chain; SSH keys, the agent and ``known_hosts``) or a
``--storage-options FILE``. A scheme whose backend (an optional extra) is not installed is refused
with the ``pip install`` line that adds it. Nothing here imports fsspec or a backend.
"""

from __future__ import annotations

import getpass
import importlib.util
import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from syncer.errors import ConfigError

Scheme = Literal["file", "s3", "sftp"]

#: scheme -> (the extra that installs its backend, the modules that extra provides)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "s3": ("s3", ("fsspec", "s3fs")),
    "sftp": ("sftp", ("fsspec", "sshfs", "asyncssh")),
}

#: how each scheme's credentials are given instead of in the URL
CREDENTIALS_HELP = {
    "s3": "S3 credentials come from the AWS default chain (AWS_ACCESS_KEY_ID / "
    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, or the instance role), or from a "
    "--storage-options FILE (JSON or YAML)",
    "sftp": "SFTP logs in with your SSH key or agent (~/.ssh, SSH_AUTH_SOCK), or with the "
    "options of a --storage-options FILE (JSON or YAML, e.g. client_keys)",
}


@dataclass(frozen=True)
class Location:
    """A parsed SOURCE / DIR.

    ``url`` is the display form (never a secret); ``path`` is the backend's path: the local
    absolute path, ``bucket/key`` on S3, the absolute remote path on SFTP. ``options`` are the
    backend's options from ``--storage-options`` (they may hold secrets: never shown).
    """

    scheme: Scheme
    url: str
    path: str
    host: str = ""
    port: int | None = None
    user: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    insecure_host_key: bool = False

    @property
    def is_remote(self) -> bool:
        """True for S3 and SFTP (a download comes first), False for a local path."""
        return self.scheme != "file"

    @property
    def name(self) -> str:
        """The last part of the path (the file's name), '' for a bucket or a root."""
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def is_folder(self) -> bool:
        """The URL ends with '/' (an S3 prefix or an SFTP folder), or names a local folder."""
        if self.scheme == "file":
            return Path(self.path).is_dir()
        return self.url.endswith("/") or self.path in {"", "/"}

    def child(self, name: str) -> Location:
        """The location of ``name`` inside this folder (or a deeper relative path)."""
        base = self.path.rstrip("/")
        path = f"{base}/{name}" if base or self.path.startswith("/") else name
        if self.scheme == "file":
            path = str(Path(self.path) / name)
        return replace(self, url=self.url_of(path), path=path)

    def url_of(self, path: str) -> str:
        """The display URL of another backend ``path`` on the same store."""
        if self.scheme == "file":
            return path
        if self.scheme == "s3":
            return f"s3://{path}"
        port = f":{self.port}" if self.port is not None else ""
        user = f"{self.user}@" if self.user else ""
        return f"sftp://{user}{self.host}{port}{path if path.startswith('/') else '/' + path}"

    def __str__(self) -> str:
        return self.url


def is_url(text: str | Path) -> bool:
    """True when ``text`` is written as a URL (``scheme://...``), not a local path."""
    s = str(text)
    scheme, sep, _ = s.partition("://")
    return bool(sep) and scheme.isascii() and scheme.replace("+", "").isalnum() and len(scheme) > 1


def parse_location(
    text: str | Path,
    *,
    storage_options: Path | None = None,
    sftp_insecure_accept_host_key: bool = False,
) -> Location:
    """Parse SOURCE / DIR ``text``: a local path, ``file://``, ``s3://`` or ``sftp://``.

    Raises :class:`ConfigError` for a URL carrying a password (the message says where to put it
    instead and never repeats it), an unknown scheme, a missing backend (the extra to install)
    or an unreadable ``storage_options`` file.
    """
    if not is_url(text):
        return Location(scheme="file", url=str(text), path=str(Path(text)))
    raw = str(text)
    scheme = raw.partition("://")[0].lower()
    if scheme == "file":
        path = unquote(urlsplit(raw).path)
        return Location(scheme="file", url=path, path=path)
    if scheme not in EXTRAS:
        raise ConfigError(
            f"{scheme}:// is not a store syncer reads: give a local path, s3://bucket/key or "
            "sftp://user@host[:port]/path"
        )
    parts = urlsplit(raw)
    shown = _redacted(raw, parts.netloc)
    if parts.password is not None or (scheme == "s3" and parts.username is not None):
        raise ConfigError(
            f"{shown}: the URL carries a {'password' if scheme == 'sftp' else 'credential'}; "
            f"it was not used. Remove it from the URL: {CREDENTIALS_HELP[scheme]}.",
            code="config",
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{shown}: a URL with ?query or #fragment is not read; put backend options in a "
            "--storage-options FILE (JSON or YAML)"
        )
    require_backend(scheme)
    options = load_storage_options(storage_options)
    if scheme == "s3":
        return _s3(parts.netloc, unquote(parts.path), options)
    return _sftp(parts, options, sftp_insecure_accept_host_key)


def require_backend(scheme: str) -> None:
    """ConfigError naming the extra to install when ``scheme``'s backend is missing."""
    extra, modules = EXTRAS[scheme]
    missing = [m for m in modules if not _importable(m)]
    if missing:
        raise ConfigError(
            f"reading {scheme}:// needs the {extra!r} extra ({', '.join(missing)} not "
            f"installed): pip install 'syncer[{extra}]'"
        )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a None in sys.modules
        return False


def _redacted(raw: str, netloc: str) -> str:
    """``raw`` with anything before '@' in its host part (user, password, key) left out."""
    if "@" not in netloc:
        return raw
    user, _, host = netloc.rpartition("@")
    name = user.partition(":")[0]
    keep = f"{name}:***@{host}" if ":" in user else f"***@{host}"
    return raw.replace(netloc, keep, 1)


def _s3(bucket: str, key: str, options: dict[str, Any]) -> Location:
    if not bucket:
        raise ConfigError("s3:// needs a bucket: s3://bucket/key or s3://bucket/prefix/")
    path = f"{bucket}/{key.strip('/')}" if key.strip("/") else bucket
    url = f"s3://{path}/" if key.endswith("/") or path == bucket else f"s3://{path}"
    return Location(scheme="s3", url=url, path=path, host=bucket, options=options)


def _sftp(parts: Any, options: dict[str, Any], insecure: bool) -> Location:
    host = parts.hostname
    if not host:
        raise ConfigError("sftp:// needs a host: sftp://user@host[:port]/path")
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"sftp://{host}: the port is not a number ({exc})") from exc
    if "known_hosts" in options and options["known_hosts"] is None and not insecure:
        raise ConfigError(
            "--storage-options sets known_hosts to null (no host key check): pass "
            "--sftp-insecure-accept-host-key if that is really meant"
        )
    user = unquote(parts.username) if parts.username else None
    path = unquote(parts.path) or "/"
    loc = Location(
        scheme="sftp",
        url="",
        path=path.rstrip("/") or "/",
        host=host,
        port=port,
        user=user,
        options=options,
        insecure_host_key=insecure,
    )
    url = loc.url_of(loc.path) + ("/" if path.endswith("/") and loc.path != "/" else "")
    return replace(loc, url=url)


#: option names whose values are secrets, and the environment's secrets (the AWS chain)
SECRET_OPTIONS = ("secret", "password", "passphrase", "token", "key")
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def secret_values(options: Mapping[str, Any]) -> list[str]:
    """The values no message may show: those of ``--storage-options`` whose name holds
    secret, password, passphrase, token or key, and the AWS secrets of the environment."""
    found = [
        value
        for name, value in options.items()
        if isinstance(value, str) and any(s in name.lower() for s in SECRET_OPTIONS)
    ]
    return found + [v for v in map(os.environ.get, SECRET_ENV) if v]


def sftp_user(location: Location) -> str:
    """The SFTP login: the URL's user, else the options' ``username``, else the local user."""
    return location.user or str(location.options.get("username") or getpass.getuser())


def load_storage_options(path: Path | None) -> dict[str, Any]:
    """The backend options in ``path`` (a JSON or YAML mapping); {} without one. The values
    may be secrets: no message here repeats them."""
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"--storage-options {path}: cannot read it ({exc.strerror or exc}): check the path"
        ) from exc
    import yaml

    try:
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:  # the messages may quote a value: not shown
        raise ConfigError(
            f"--storage-options {path}: not valid JSON or YAML: fix the file ({_where(exc)})"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError(
            f"--storage-options {path}: must hold one mapping of option names to values "
            "(e.g. endpoint_url: https://..., or client_keys: [~/.ssh/id_vendor])"
        )
    return data


def _where(exc: BaseException) -> str:
    """Line and column of a parse error, without the text around it (it may be a secret)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}"
    line = getattr(exc, "lineno", None)
    return f"line {line}, column {getattr(exc, 'colno', '?')}" if line else "unknown position"
