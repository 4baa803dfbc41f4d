"""The one place where a storage backend's exceptions become syncer's (httpx's
``map_httpcore_exceptions`` is the model): which faults are worth another try, and what each
final one tells the user. Classes are matched by name and module, so nothing here imports
botocore, aiohttp or asyncssh.
"""

from __future__ import annotations

import errno
import socket

from syncer.errors import ConfigError, SourceError, StorageUnreachable, SyncerError
from syncer.storage.location import CREDENTIALS_HELP, Location

#: (module prefix, class name) of the backends' network faults: another try may succeed
_NETWORK = {
    ("botocore", "ConnectionError"),  # EndpointConnectionError, ConnectionClosedError, ...
    ("botocore", "HTTPClientError"),  # ReadTimeoutError, ConnectTimeoutError
    ("aiohttp", "ClientConnectionError"),
    ("aiohttp", "ClientPayloadError"),
    ("aiohttp", "ServerTimeoutError"),
    ("asyncssh", "ConnectionLost"),
    ("asyncssh", "SFTPConnectionLost"),
    ("asyncssh", "ChannelOpenError"),
    ("fsspec", "FSTimeoutError"),
    ("urllib3", "HTTPError"),
}
#: faults that look like network ones (a DisconnectError) but another try cannot fix
_FINAL = {
    ("asyncssh", "HostKeyNotVerifiable"),
    ("asyncssh", "PermissionDenied"),
    ("botocore", "NoCredentialsError"),
}
_NET_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ETIMEDOUT,
    errno.EPIPE,
}
_LOCAL_FILE_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
_BACKENDS = ("botocore", "aiobotocore", "aiohttp", "asyncssh", "s3fs", "sshfs", "fsspec")


def _named(exc: BaseException, names: set[tuple[str, str]]) -> bool:
    return any((cls.__module__.split(".")[0], cls.__name__) in names for cls in type(exc).__mro__)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (a backend often wraps the cause)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 8:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def is_network_fault(exc: BaseException) -> bool:
    """True for a fault another try may get past: refused, reset, timed out, disconnected."""
    if isinstance(exc, SyncerError):
        return False
    for cur in _chain(exc):
        if _named(cur, _FINAL) or isinstance(cur, _LOCAL_FILE_ERRORS):
            return False
        if _named(cur, _NETWORK) or isinstance(cur, ConnectionError | TimeoutError):
            return True
        if isinstance(cur, socket.gaierror):
            return True
        if isinstance(cur, OSError) and cur.errno in _NET_ERRNOS:
            return True
        if _named(cur, {("asyncssh", "DisconnectError")}):
            return True
        if _named(cur, {("botocore", "ClientError")}) and _s3_busy(cur):
            return True
    return False


def _s3_busy(exc: BaseException) -> bool:
    """An S3 answer that says "later": 5xx, SlowDown, RequestTimeout."""
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    code = response.get("Error", {}).get("Code", "")
    return status in {500, 502, 503, 504} or code in {"SlowDown", "RequestTimeout"}


def _reason(exc: BaseException) -> str:
    """A short, secret-free description of a backend fault."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def translate(exc: Exception, location: Location, url: str, what: str, tries: int) -> Exception:
    """The SyncerError for backend fault ``exc`` while doing ``what`` at ``url`` (after
    ``tries`` attempts), or ``exc`` itself when it is not a storage fault (a bug: surfaces)."""
    if isinstance(exc, SyncerError):
        return exc
    scheme = location.scheme
    if is_network_fault(exc):
        where = url if scheme != "s3" else f"{url} (endpoint: {_endpoint(location)})"
        return StorageUnreachable(
            f"could not {what} {where}: {_reason(exc)} ({tries} attempts). Check the network "
            f"and {_check(location)}, then run the command again.",
            url=url,
        )
    chain = _chain(exc)
    if any(_named(c, {("asyncssh", "HostKeyNotVerifiable")}) for c in chain):
        port = location.port or 22
        return ConfigError(
            f"{url}: the SFTP server's host key is not in ~/.ssh/known_hosts (or does not match "
            f"it). Check the key with the server's owner, then add it (e.g. `ssh-keyscan -p {port} "
            f"{location.host} >> ~/.ssh/known_hosts`, or connect once with ssh); "
            "--sftp-insecure-accept-host-key skips the check (not recommended).",
            code="host_key",
        )
    if any(_named(c, {("botocore", "NoCredentialsError")}) for c in chain):
        return ConfigError(f"{url}: no AWS credentials found. {CREDENTIALS_HELP['s3']}.")
    for cur in chain:
        if isinstance(cur, FileNotFoundError):
            return SourceError(f"{url} does not exist: check the path in the URL", path=url)
        if isinstance(cur, PermissionError) or _named(cur, {("asyncssh", "PermissionDenied")}):
            help_text = CREDENTIALS_HELP.get(scheme, "check the file's permissions")
            return SourceError(
                f"{url}: access denied while trying to {what} it ({_reason(cur)}). "
                f"{help_text}; check that it may {what} there.",
                path=url,
                code="storage_denied",
                hint="Check the credentials and the permissions the message names, then run "
                "the command again.",
            )
        if isinstance(cur, IsADirectoryError):
            return SourceError(f"{url} is a folder: give a file's URL", path=url)
    if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in _BACKENDS:
        return SourceError(f"could not {what} {url}: {_reason(exc)}", path=url)
    return exc


def _endpoint(location: Location) -> str:
    import os

    return str(
        location.options.get("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or "AWS"
    )


def _check(location: Location) -> str:
    if location.scheme == "s3":
        return "the bucket's endpoint (AWS_ENDPOINT_URL for an S3-compatible store)"
    if location.scheme == "sftp":
        port = location.port or 22
        return f"that the SFTP server {location.host} answers on port {port}"
    return "the path"
