"""Header names -> Reevo fields: names and synonyms in six languages (synonyms.yaml), compared
without case, accents, spaces, punctuation or a byte-order mark, and with rapidfuzz for typos.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from rapidfuzz.distance import DamerauLevenshtein

__all__ = [
    "LANGUAGES",
    "HeaderMatch",
    "is_country_header",
    "match_header",
    "normalize",
    "synonyms_of",
]

#: language codes of synonyms.yaml -> how comments name them
LANGUAGES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "nl": "Dutch",
}
#: typos (Damerau-Levenshtein edits: a letter added, dropped, changed or two swapped) allowed
#: between a header and a synonym, by the synonym's length without spaces
_TYPOS = ((4, 0), (9, 1), (16, 2))
_MAX_TYPOS = 3
_COUNTRY = "_country"
#: a header naming an id: its last word is id / ids (``Company ID``, ``organization_id``)
_ID_END = re.compile(r"(?:^|\s)ids?$")


def normalize(header: str) -> str:
    """``" E-Mail-Adresse\\ufeff"`` -> ``"e mail adresse"``: no BOM, accents, case or
    punctuation; single spaces."""
    text = unicodedata.normalize("NFKD", header.replace("\ufeff", ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("#", " number ")
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """A header taken for a field: the synonym it is like, its language and how alike (0-100)."""

    field: str
    synonym: str
    language: str
    score: float

    @property
    def exact(self) -> bool:
        """The header is the synonym, up to case, accents, spaces and punctuation."""
        return self.score >= 100


@functools.cache
def _synonyms() -> dict[str, dict[str, list[str]]]:
    text = resources.files("syncer.proposal").joinpath("synonyms.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return {
        str(k): {str(lang): [str(s) for s in v] for lang, v in d.items()} for k, d in data.items()
    }


@functools.cache
def _choices(fields: tuple[str, ...]) -> list[tuple[str, str, str, str, str]]:
    """(normalized, without spaces, field, synonym, language) for every name of ``fields``."""
    out: list[tuple[str, str, str, str, str]] = []
    table = _synonyms()
    for name in fields:
        names = table.get(name, {"en": [name.replace("_", " ")]})
        for lang, words in names.items():
            for word in words:
                norm = normalize(word)
                out.append((norm, norm.replace(" ", ""), name, word, lang))
    return out


def synonyms_of(name: str) -> list[str]:
    """Every header name of ``name`` in synonyms.yaml (English first; empty when unlisted)."""
    return [w for words in _synonyms().get(name, {}).values() for w in words]


def _allowed(word: str) -> int:
    return next((n for size, n in _TYPOS if len(word) <= size), _MAX_TYPOS)


def match_header(header: str, fields: tuple[str, ...]) -> HeaderMatch | None:
    """The field ``header`` names best among ``fields``, or None when none is close enough.

    Compared as :func:`normalize` gives them, spaces dropped. An exact synonym wins (the one
    spelled like the header, accents included, first); otherwise the fewest typos, up to 0 for
    words of 4 letters, 1 up to 9, 2 up to 16 and 3 beyond; English first on ties. A header
    naming an id (last word ``id``) is never a typo of a name without one.
    """
    flat = normalize(header).replace(" ", "")
    if not flat:
        return None
    raw = " ".join(header.replace("\ufeff", "").split()).casefold()
    is_id = _ID_END.search(normalize(header)) is not None
    best: tuple[float, bool] | None = None
    found: HeaderMatch | None = None
    for norm, choice_flat, name, word, lang in _choices(fields):
        if abs(len(choice_flat) - len(flat)) > _allowed(choice_flat):
            continue
        edits = DamerauLevenshtein.distance(flat, choice_flat, score_cutoff=_allowed(choice_flat))
        if edits > _allowed(choice_flat):
            continue
        if edits and is_id and _ID_END.search(norm) is None:
            continue  # "organization_id" is an id, not a typo of "organization"
        score = round(100 * (1 - edits / max(len(flat), len(choice_flat))), 1)
        rank = (score, word.casefold() == raw)
        if best is None or rank > best:
            best, found = rank, HeaderMatch(name, word, lang, score)
    return found


def is_country_header(header: str) -> bool:
    """A country column (its values can give phone numbers their default region)."""
    norm = normalize(header)
    words = set(norm.split())
    if words & {"country", "land", "pays", "pais", "nation"}:
        return True
    return match_header(header, (_COUNTRY,)) is not None
