"""``syncer init``: propose a mapping file from a raw export.

- :mod:`.layouts`: known export layouts (``layouts/*.yaml``, one per tool)
- :mod:`.headers`: header names and synonyms in six languages, typo-tolerant (rapidfuzz)
- :mod:`.values`: what sampled values look like (e-mails, phones, URLs, dates, lists...)
- :mod:`.proposing`: the proposal (layout, then headers, then values), with confidences
- :mod:`.relations`: lookups, keys, lists, time zones and stages of accounts / opportunities
- :mod:`.model`, :mod:`.zones`: the proposal's data; the zone a datetime field is read in
- :mod:`.rendering`: the mapping file, every line commented with why
"""

from syncer.proposal.proposing import (
    SAMPLE_ROWS,
    Choice,
    KeyLine,
    Line,
    Proposal,
    custom_name,
    propose,
    read_sample,
    require_email,
)
from syncer.proposal.relations import require_fields
from syncer.proposal.rendering import modeline, render

__all__ = [
    "SAMPLE_ROWS",
    "Choice",
    "KeyLine",
    "Line",
    "Proposal",
    "custom_name",
    "modeline",
    "propose",
    "read_sample",
    "render",
    "require_email",
    "require_fields",
]
