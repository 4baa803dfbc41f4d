"""YAML text -> Python data plus the line of every key, refusing alias bombs.

Mapping files are YAML read with ``yaml.SafeLoader``; their problems are reported at the line
they are on, so the document's nodes are walked for line numbers (:class:`Lines`).
"""

from __future__ import annotations

from typing import Any

import yaml

from syncer.errors import MappingError

__all__ = ["MAX_YAML_NODES", "Lines", "parse_yaml"]


class Lines:
    """Line numbers (1-based) of every key in a YAML document, by key path."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[Any, ...], int] = {}
        self.duplicates: list[tuple[tuple[Any, ...], int]] = []

    def walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                here = (*path, key)
                line = key_node.start_mark.line + 1
                if here in self.by_path:
                    self.duplicates.append((here, line))
                self.by_path[here] = line
                self.walk(value_node, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.by_path[(*path, i)] = item.start_mark.line + 1
                self.walk(item, (*path, i))

    def line(self, path: tuple[Any, ...]) -> int | None:
        """Line of the longest prefix of ``path`` that is known."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.by_path:
                return self.by_path[path[:n]]
        return None


#: most values a mapping may expand to once YAML aliases are followed (stops "billion laughs")
MAX_YAML_NODES = 10_000


def _check_size(root: yaml.Node, where: str) -> None:
    """Refuse a document whose aliases expand it past MAX_YAML_NODES or into a cycle."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        line = node.start_mark.line + 1
        if id(node) in pending or len(pending) > 100:
            raise MappingError(
                f"{where}:{line}: the YAML nests too deep or an alias (*name) refers to itself. "
                "Write the mapping out plainly.",
                path=where,
                line=line,
            )
        pending.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise MappingError(
                    f"{where}: the YAML expands to more than {MAX_YAML_NODES:,} values through "
                    "aliases (*name); a mapping needs far fewer. Write the values out in full.",
                    path=where,
                )
        pending.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


def parse_yaml(text: str, where: str) -> tuple[Any, Lines]:
    """``text`` parsed (safe_load rules) and the line of each key; MappingError naming
    ``where`` and the line when it is not valid YAML or expands too far."""
    lines = Lines()
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, where)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise MappingError(
            f"{where}: the YAML nests too deep. Write the mapping out plainly.", path=where
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        loc = f"{where}:{line}" if line else where
        raise MappingError(
            f"{loc}: not valid YAML ({problem}). Fix the syntax and run again.",
            path=where,
            line=line,
        ) from exc
    finally:
        loader.dispose()
    if node is not None:
        lines.walk(node, ())
    return data, lines
