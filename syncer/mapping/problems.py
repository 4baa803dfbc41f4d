"""A mapping problem (its line and text), "did you mean" suggestions, and the one
MappingError that lists every problem of a file in line order.
"""

from __future__ import annotations

import difflib

from syncer.errors import MappingError

#: one problem: the mapping line it is on (None: the file as a whole) and what is wrong
Problem = tuple[int | None, str]


def _close(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(word: str, choices: list[str]) -> str:
    close = _close(word, choices)
    return f"; did you mean {close}?" if close else ""


def _report(where: str, problems: list[Problem]) -> tuple[str, list[str], int | None]:
    """The problems in line order as ``file:line: text``, under one heading; the first line."""
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    texts = [f"{where}:{line}: {msg}" if line else f"{where}: {msg}" for line, msg in ordered]
    head = (
        texts[0]
        if len(texts) == 1
        else f"{len(texts)} problems in {where}:\n  " + ("\n  ".join(texts))
    )
    return head, texts, ordered[0][0]


def _raise(where: str, problems: list[Problem]) -> None:
    if not problems:
        return
    head, texts, line = _report(where, problems)
    raise MappingError(
        f"{head}\nFix the mapping file and run again.", path=where, line=line, problems=texts
    )
