"""Parse the curl examples out of Reevo's help page (a verbatim copy in data/)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PAGE = Path(__file__).parent / "data" / "reevo_help_page.txt"


@dataclass
class CurlExample:
    method: str
    path_and_query: str  # e.g. /api/v1/public/accounts/{account_id}
    headers: dict[str, str]
    body: Any
    command: str  # the curl command as printed, continuation lines joined


def curl_examples(text: str | None = None) -> list[CurlExample]:
    """Every ``curl`` command on the page, parsed with shlex."""
    text = text if text is not None else PAGE.read_text(encoding="utf-8")
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.strip().startswith("curl "):
            continue
        chunk = ""
        for follow in lines[i:]:
            chunk += follow.strip().removesuffix("\\") + "\n"
            if follow.rstrip().endswith("\\"):
                continue
            try:
                argv = shlex.split(chunk)
                break
            except ValueError:  # a quoted body still open
                continue
        method, url, headers, body = "GET", "", {}, None
        it = iter(argv[1:])
        for arg in it:
            if arg == "-X":
                method = next(it)
            elif arg == "-H":
                name, _, value = next(it).partition(":")
                headers[name.strip()] = value.strip()
            elif arg == "-d":
                body = json.loads(next(it))
            elif arg.startswith("http"):
                url = arg
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        out.append(CurlExample(method, parts.path + query, headers, body, chunk.strip()))
    return out
