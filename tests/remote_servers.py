"""Real stores on loopback for the remote SOURCE / inbox tests (fixtures; tests/conftest.py
makes them available to every test folder).

- ``moto_server`` (session): moto's S3-compatible server in a thread on 127.0.0.1, a random
  port; its endpoint URL.
- ``s3_bucket``: a fresh bucket on it, and the AWS environment a user would have (endpoint,
  key id, secret, region; no profile or ~/.aws of the machine) set for this test: an
  :class:`S3Bucket` (``url(key)``, ``put``, ``get``, ``keys``).
- ``sftp_server`` (session): an asyncssh SFTP server in a thread on 127.0.0.1, a random port,
  whose root (chroot) and accepted client keys each test sets.
- ``sftp``: that server rooted in ``tmp_path / "sftp"`` for this test, a client key pair made
  for it in ``tmp_path / "home" / ".ssh"`` (HOME points there: the same HOME as
  ``private_env(tmp_path)`` of tests/e2e/cli_helpers.py) and the server's key in that
  ``known_hosts``: an :class:`SFTPServerHandle` (``url(path)``, ``root``, ``forget_host_key()``).

Both servers are started with a deadline and checked before use. Without moto or asyncssh
installed (``pip install -e '.[test,s3,sftp]'`` installs both) the tests that need them skip,
saying which package is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: the credentials the tests' AWS environment holds (the secret must never be printed)
AWS_KEY_ID = "AKIATESTSYNCERKEYID0"
AWS_SECRET = "syncer-test-secret-Zq7vW3kP9xL2"
#: seconds a server gets to start listening
START_DEADLINE_S = 30.0

_buckets = itertools.count(1)


def _need(module: str, extra: str) -> None:
    """Skip (naming the package) when ``module`` is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: pip install -e '.[test,{extra}]'")


# ---------------------------------------------------------------------------------------------
# S3 (moto in server mode)
# ---------------------------------------------------------------------------------------------


@dataclass
class S3Bucket:
    """A bucket on the local S3 server, and a boto3 client for the test's own reads/writes."""

    endpoint: str
    name: str
    client: Any

    def url(self, key: str = "") -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.name}/{key}"

    def put(self, key: str, data: bytes | str | Path) -> str:
        """Store ``data`` (bytes, text, or a local file's content) under ``key``; its URL."""
        if isinstance(data, Path):
            self.client.upload_file(str(data), self.name, key)
        else:
            body = data.encode("utf-8") if isinstance(data, str) else data
            self.client.put_object(Bucket=self.name, Key=key, Body=body)
        return self.url(key)

    def get(self, key: str) -> bytes:
        out: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return out

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (random port) for the session: its endpoint URL."""
    _need("moto", "test")
    _need("flask", "test")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # returns once the socket is bound (it accepts connections from then on)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _wait_http(endpoint)
    yield endpoint
    server.stop()


def _wait_http(endpoint: str) -> None:
    """Wait (with a deadline) until the server answers an HTTP request."""
    import httpx
    from wait_helpers import wait_until

    def answers() -> bool:
        try:
            httpx.get(endpoint + "/moto-api/", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    wait_until(answers, f"the S3 server at {endpoint} answering", timeout=START_DEADLINE_S)


def aws_env(endpoint: str, tmp: Path) -> dict[str, str]:
    """The AWS environment of a user of the local store (nothing from this machine's ~/.aws)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance-role probe on a developer machine
    }


@pytest.fixture
def s3_bucket(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Bucket]:
    """A fresh bucket, with this test's AWS environment set (monkeypatch)."""
    _need("boto3", "test")
    import boto3

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(moto_server, tmp_path).items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        aws_access_key_id=AWS_KEY_ID,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    name = f"syncer-test-{os.getpid()}-{next(_buckets)}"
    client.create_bucket(Bucket=name)
    yield S3Bucket(endpoint=moto_server, name=name, client=client)
    client.close()


# ---------------------------------------------------------------------------------------------
# SFTP (asyncssh)
# ---------------------------------------------------------------------------------------------


@dataclass
class _SFTPState:
    """What the running server serves now (set per test)."""

    root: Path | None = None
    client_keys: list[bytes] = field(default_factory=list)  # accepted public keys (wire form)
    logins: list[str] = field(default_factory=list)


class SFTPServerThread:
    """An asyncssh SFTP server on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        import asyncssh

        self.state = _SFTPState()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        future.result(timeout=START_DEADLINE_S)

    async def _listen(self) -> None:
        import asyncssh

        state = self.state

        class _Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return False

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                ok = key.public_data in state.client_keys
                if ok:
                    state.logins.append(username)
                return ok

        def sftp_factory(chan: Any) -> asyncssh.SFTPServer:
            assert state.root is not None, "the sftp fixture sets the root"
            return asyncssh.SFTPServer(chan, chroot=str(state.root).encode())

        self._server = await asyncssh.create_server(
            _Server,
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            sftp_factory=sftp_factory,
            allow_scp=False,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=START_DEADLINE_S)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=START_DEADLINE_S)

    def known_hosts_line(self) -> str:
        """This server's ``known_hosts`` line (host key for ``[127.0.0.1]:port``)."""
        key = self.host_key.export_public_key("openssh").decode().strip()
        return f"[127.0.0.1]:{self.port} {key}\n"


@pytest.fixture(scope="session")
def sftp_server() -> Iterator[SFTPServerThread]:
    """The SFTP server for the session (each test's ``sftp`` sets its root and keys)."""
    _need("asyncssh", "sftp")
    server = SFTPServerThread()
    server.start()
    yield server
    server.stop()


@dataclass
class SFTPServerHandle:
    """The SFTP server as one test sees it."""

    server: SFTPServerThread
    root: Path
    home: Path
    user: str = "syncer"

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def known_hosts(self) -> Path:
        return self.home / ".ssh" / "known_hosts"

    def url(self, path: str = "") -> str:
        """``sftp://user@127.0.0.1:port/path`` (``path`` relative to the server's root)."""
        return f"sftp://{self.user}@127.0.0.1:{self.port}/{path.lstrip('/')}"

    def forget_host_key(self) -> None:
        """Empty ``known_hosts``: the server's key is then unknown to the client."""
        self.known_hosts.write_text("", encoding="utf-8")

    @property
    def logins(self) -> list[str]:
        return self.server.state.logins


@pytest.fixture
def sftp(
    sftp_server: SFTPServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SFTPServerHandle:
    """The SFTP server rooted in ``tmp_path/sftp``; a new client key pair and the server's key
    in ``tmp_path/home/.ssh``; HOME there; no SSH agent."""
    import asyncssh

    root = tmp_path / "sftp"
    root.mkdir()
    home = tmp_path / "home"
    ssh = home / ".ssh"
    ssh.mkdir(parents=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(ssh / "id_ed25519")
    key.write_public_key(ssh / "id_ed25519.pub")
    (ssh / "id_ed25519").chmod(0o600)
    (ssh / "known_hosts").write_text(sftp_server.known_hosts_line(), encoding="utf-8")
    sftp_server.state.root = root
    sftp_server.state.client_keys = [key.public_data]
    sftp_server.state.logins.clear()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return SFTPServerHandle(server=sftp_server, root=root, home=home)


# ---------------------------------------------------------------------------------------------
# A network fault in front of either server
# ---------------------------------------------------------------------------------------------


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 in front of ``port`` that closes the first ``drop`` connections
    as soon as they are accepted (a connection reset by the network), then forwards the rest.
    ``accepted`` counts the connections; use it as a context manager."""

    def __init__(self, port: int, drop: int = 1) -> None:
        import socket

        self.target = port
        self.drop = drop
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._listener.close()

    def _serve(self) -> None:
        import socket
        import struct

        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.drop:
                linger = struct.pack("ii", 1, 0)  # close with a reset, at once
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                conn.close()  # RST: the client sees a reset or a closed connection
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: Any, dst: Any) -> None:
    """Copy bytes from ``src`` to ``dst`` until either side closes."""
    try:
        while data := src.recv(1 << 16):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(2)
