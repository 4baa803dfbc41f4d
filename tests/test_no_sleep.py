"""No test sleeps a fixed time and hopes: it waits for the event (tests/wait_helpers.py).

A ``time.sleep(0.4)`` "so the slow request is applied by then" passes on an idle machine and
fails on a busy one. Every ``sleep`` call with a non-zero delay in a test file is refused here,
except in the shared wait helper (its poll interval) and the few places listed in ``ALLOWED``,
each with the reason it is not a wait for an event. ``asyncio.sleep(0)`` (a yield) is fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
HELPER = TESTS / "wait_helpers.py"

#: modules whose ``sleep`` is a real, fixed delay
SLEEPY_MODULES = {"time", "asyncio", "anyio", "trio", "gevent", "eventlet"}

#: (file under tests/, enclosing function) -> why its sleep is not sleep-and-hope
ALLOWED = {
    ("sandbox/test_sandbox_limits.py", "worker"): (
        "a flood's pacing after each 429 (it leaves the server some CPU); nothing waits on it"
    ),
}


def _is_zero(node: ast.Call) -> bool:
    args = [*node.args, *(k.value for k in node.keywords)]
    return len(args) == 1 and isinstance(args[0], ast.Constant) and args[0].value == 0


def fixed_sleeps(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function) of each sleep call with a delay other than a literal 0."""
    tree = ast.parse(source)
    modules: set[str] = set()  # local names bound to a sleepy module
    functions: set[str] = set()  # local names bound to a sleepy module's sleep
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in SLEEPY_MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module in SLEEPY_MODULES:
            functions |= {a.asname or a.name for a in node.names if a.name == "sleep"}
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.Call) and not _is_zero(child):
                f = child.func
                if (
                    isinstance(f, ast.Attribute)
                    and f.attr == "sleep"
                    and isinstance(f.value, ast.Name)
                    and f.value.id in modules
                ) or (isinstance(f, ast.Name) and f.id in functions):
                    found.append((child.lineno, function))
            visit(child, name)

    visit(tree, "<module>")
    return found


def test_no_test_sleeps_and_hopes() -> None:
    offenders, used = [], set()
    for path in sorted(TESTS.rglob("*.py")):
        if path == HELPER:
            continue
        rel = path.relative_to(TESTS).as_posix()
        for line, function in fixed_sleeps(path.read_text(encoding="utf-8")):
            if (rel, function) in ALLOWED:
                used.add((rel, function))
            else:
                offenders.append(f"tests/{rel}:{line} (in {function})")
    assert not offenders, (
        "these tests sleep a fixed time and hope the event happened meanwhile; wait for the "
        "event itself with wait_helpers.wait_until / wait_for_stats instead:\n"
        + "\n".join(offenders)
    )
    stale = set(ALLOWED) - used
    assert not stale, f"ALLOWED entries that no longer sleep (drop them): {sorted(stale)}"


def test_the_check_finds_every_spelling_of_a_fixed_sleep() -> None:
    source = """
import time, asyncio as aio
from time import sleep as nap
from asyncio import sleep

def hope():
    time.sleep(0.4)
    nap(1)

async def also_hope(delay):
    await aio.sleep(delay)
    await sleep(seconds=0.1)

async def fine(clock):
    await aio.sleep(0)
    await clock.sleep(5)  # a fake clock's sleep: no real waiting
"""
    assert fixed_sleeps(source) == [(7, "hope"), (8, "hope"), (11, "also_hope"), (12, "also_hope")]
