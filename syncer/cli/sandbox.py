"""``syncer sandbox``: run the local Reevo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from syncer.cli.app import cli


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 = any free).")
@click.option("--db", "db", type=click.Path(dir_okay=False), help="SQLite file (default: memory).")
@click.option("--api-key", envvar="SANDBOX_API_KEY", help="Key with every permission [random].")
@click.option("--rate-limit", type=float, help="Requests per second (token bucket).")
@click.option("--daily-quota", type=int, help="Public requests per UTC day.")
@click.option("--latency-ms", type=float, default=0.0, help="Added to every request.")
@click.option("--jitter-ms", type=float, default=0.0, help="Plus uniform(0, jitter) ms.")
@click.option("--fail-rate", type=float, default=0.0, help="Share answered 500/502/503.")
@click.option("--reset-rate", type=float, default=0.0, help="Share whose connection drops.")
@click.option("--commit-then-fail-rate", type=float, default=0.0, help="Writes applied, then fail.")
@click.option("--slow-rate", type=float, default=0.0, help="Share answered only after --slow-ms.")
@click.option("--slow-ms", type=float, default=30_000.0, show_default=True, help="See --slow-rate.")
@click.option("--seed", "seed", type=click.Path(exists=True, dir_okay=False), help="Seed YAML.")
@click.option("--no-examples", is_flag=True, help="Do not seed the help page's example objects.")
def sandbox_cmd(
    host: str,
    port: int,
    db: str | None,
    api_key: str | None,
    rate_limit: float | None,
    daily_quota: int | None,
    latency_ms: float,
    jitter_ms: float,
    fail_rate: float,
    reset_rate: float,
    commit_then_fail_rate: float,
    slow_rate: float,
    slow_ms: float,
    seed: str | None,
    no_examples: bool,
) -> None:
    """Run a local Reevo (public API v1) with the demo organisation, limits and faults."""

    from syncer.sandbox import SandboxSettings, serve_forever

    settings = SandboxSettings(
        host=host,
        port=port,
        db_path=db,
        api_key=api_key,
        rate_limit=rate_limit,
        daily_quota=daily_quota,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        reset_rate=reset_rate,
        commit_then_fail_rate=commit_then_fail_rate,
        slow_rate=slow_rate,
        slow_ms=slow_ms,
        seed_path=Path(seed) if seed else None,
        example_data=not no_examples,
    )
    shown = f"[{host}]" if ":" in host else host

    def ready(app: Any) -> None:
        click.echo(f"Reevo sandbox on http://{shown}:{settings.port}  (admin: /_sandbox/stats)")
        click.echo(f"API key (every permission): {settings.api_key}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo("warning: not loopback; the admin API still answers loopback clients only")

    serve_forever(settings, on_ready=ready)
