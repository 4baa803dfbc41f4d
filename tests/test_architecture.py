"""Hold the layering rules of GUIDE.md: one-way imports, only cli prints or exits."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import syncer

PKG = Path(syncer.__file__).parent

# module (relative dotted name under syncer) -> syncer modules it must never import
PIPELINE = (
    "mapping",
    "sources",
    "transform",
    "validation",
    "dedupe",
    "results",
    "csvfiles",
    "formulas",
    "offending",
    "xlsx",
    "dates",
    "nulls",
    "owners",
    "yamldoc",
    "amounts",
    "datetimes",
    "rowchecks",
    "cells",
)
FORBIDDEN = {
    **{m: ("reevo", "push", "runner", "ledger", "sandbox", "cli") for m in PIPELINE},
    "errors": ("*",),
    "events": ("*",),  # plain data on the logging hierarchy: anything may emit them
    "models": ("reevo", "push", "runner", "ledger", "sandbox", "cli", *PIPELINE),
    "reevo": ("push", "runner", "ledger", "sandbox", "cli", *PIPELINE),
    "push": ("runner", "cli", "sandbox", *PIPELINE),
    "ledger": ("reevo", "push", "runner", "cli", "sandbox"),
    "runner": ("cli",),
    "sandbox": ("cli", "runner", "push", "reevo", "ledger", *PIPELINE),
    "inbox": ("reevo", "push", "runner", "ledger", "sandbox", "cli"),
    # files where they are dropped (S3, SFTP, local): reads and moves bytes, knows no rows
    "storage": ("reevo", "push", "runner", "ledger", "sandbox", "cli", "inbox", *PIPELINE),
    # the target registry is pure declaration: everything else may read it
    "targets": ("reevo", "push", "runner", "ledger", "sandbox", "cli", "inbox", *PIPELINE),
    # the run report is data and drawing: the runner builds it, nothing in it reads or sends
    "report": ("reevo", "push", "runner", "ledger", "sandbox", "cli", "inbox", *PIPELINE),
}
#: third-party packages a top-level package must not import at run time
FORBIDDEN_LIBS = {
    "targets": ("httpx", "fastapi", "polars", "pydantic"),
    "report": ("httpx", "fastapi", "polars"),
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join(parts), path))
    return out


def _type_only_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes inside `if TYPE_CHECKING:` blocks (type-only imports: no runtime edge)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                out.update(id(n) for n in ast.walk(child))
    return out


def _syncer_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("syncer."):
                found.add(name.split(".")[1])
    return found


def test_import_rules() -> None:
    violations = []
    for dotted, path in _modules():
        top = dotted.split(".")[0] if dotted else ""
        rules = FORBIDDEN.get(top)
        if not rules:
            continue
        imported = _syncer_imports(path) - {top}
        bad = imported if rules == ("*",) else imported & set(rules)
        if bad:
            violations.append(f"syncer/{path.relative_to(PKG)} imports {sorted(bad)}")
    assert not violations, "\n".join(violations)


def _runtime_imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_library_rules() -> None:
    """The target registry loads no network, frame or model library (it is pure data)."""
    violations = []
    for dotted, path in _modules():
        libs = FORBIDDEN_LIBS.get(dotted.split(".")[0], ())
        bad = _runtime_imports(path) & set(libs)
        if bad:
            violations.append(f"syncer/{path.relative_to(PKG)} imports {sorted(bad)}")
    assert not violations, "\n".join(violations)


def test_only_cli_prints_or_exits() -> None:
    offenders = []
    for dotted, path in _modules():
        top = dotted.split(".")[0]
        if top in {"cli", "__main__"} or top == "sandbox":
            # the sandbox is a server with its own entry point; it is started from cli.py
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", "")
                owner = getattr(getattr(fn, "value", None), "id", "")
                if name == "print" or (owner == "sys" and name == "exit") or name == "echo":
                    offenders.append(f"syncer/{path.relative_to(PKG)}:{node.lineno} {name}()")
    assert not offenders, "\n".join(offenders)


def test_public_api_is_pinned() -> None:
    for name in syncer.__all__:
        assert hasattr(syncer, name), name


def test_no_submodule_shadows_a_public_name() -> None:
    """``import syncer.validate`` would set ``syncer.validate`` to the module, shadowing the
    function: a package's submodules must not share a name with anything in its ``__all__``."""
    clashes = []
    for info in pkgutil.walk_packages([str(PKG)], prefix="syncer."):
        if not info.ispkg:
            continue
        package = importlib.import_module(info.name)
        public = set(getattr(package, "__all__", ()))
        subs = {m.name for m in pkgutil.iter_modules(package.__path__)}
        clashes += [f"{info.name}.{name}" for name in sorted(public & subs)]
    public = set(syncer.__all__)
    clashes += [f"syncer.{m.name}" for m in pkgutil.iter_modules([str(PKG)]) if m.name in public]
    assert not clashes, f"submodules named like a public name of their package: {clashes}"
