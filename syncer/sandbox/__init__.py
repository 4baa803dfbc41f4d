"""A local stand-in for Reevo's public API v1: every endpoint, keys, limits and faults.

``create_app(settings)`` gives the ASGI app (use it with ``httpx.ASGITransport``);
``serve_in_thread(settings)`` runs it on a loopback port for end-to-end tests.
"""

from syncer.sandbox.app import SandboxApp, create_app
from syncer.sandbox.keys import ALL_PERMISSIONS, RESOURCES
from syncer.sandbox.seed import EXAMPLE_ACCOUNT_ID, EXAMPLE_CONTACT_ID, stable_id
from syncer.sandbox.server import AdminClient, SandboxHandle, serve_forever, serve_in_thread
from syncer.sandbox.settings import FaultSettings, SandboxSettings

#: The seeded demo sequence's id.
DEMO_SEQUENCE_ID = stable_id("sequence", "Demo Outreach")

__all__ = [
    "ALL_PERMISSIONS",
    "DEMO_SEQUENCE_ID",
    "EXAMPLE_ACCOUNT_ID",
    "EXAMPLE_CONTACT_ID",
    "RESOURCES",
    "AdminClient",
    "FaultSettings",
    "SandboxApp",
    "SandboxHandle",
    "SandboxSettings",
    "create_app",
    "serve_forever",
    "serve_in_thread",
]
