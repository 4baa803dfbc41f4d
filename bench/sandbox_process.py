"""``python -m syncer sandbox`` in a child process for the benchmarks: its CPU is not the
client's, so client and server do not share a GIL. Driven through the admin API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


class Sandbox:
    """A sandbox child process on a free loopback port, with key ``api_key`` (every permission)."""

    def __init__(
        self, api_key: str, *, start_timeout_s: float = 30.0, port: int | None = None
    ) -> None:
        """``port``: this one (a ledger kept between runs names the org by its URL), else free."""
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "syncer", "sandbox", "--port", str(port)]
        self.proc = subprocess.Popen(
            [*cmd, "--api-key", api_key, "--no-examples"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.admin = httpx.Client(base_url=self.base_url + "/_sandbox", timeout=30)
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                self.admin.get("/stats").raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)

    def configure(self, **faults: Any) -> None:
        """Back to an empty store with fresh stats, then these fault/limit knobs."""
        self.admin.post("/reset").raise_for_status()
        if faults:
            self.admin.put("/faults", json=faults).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``."""
        return dict(self.admin.get("/stats").json())

    def close(self) -> None:
        """Stop the child process."""
        self.admin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
