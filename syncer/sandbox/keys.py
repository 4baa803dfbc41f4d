"""API keys and their permissions.

A key's permissions are a dict ``{resource: "read" | "write"}`` over the resources of Reevo's
permission table. Write implies read. Activities can only be granted write; users and mailboxes
only read (the help page marks the other column X).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: resource -> the access levels that can be granted (help page table).
RESOURCES: dict[str, tuple[str, ...]] = {
    "accounts": ("read", "write"),
    "contacts": ("read", "write"),
    "opportunities": ("read", "write"),
    "tasks": ("read", "write"),
    "activities": ("write",),
    "users": ("read",),
    "mailboxes": ("read",),
    "sequence_enrollments": ("read", "write"),
    "webhooks": ("read", "write"),
}

#: Every permission the table allows: the strongest level per resource.
ALL_PERMISSIONS: dict[str, str] = {r: levels[-1] for r, levels in RESOURCES.items()}

Need = tuple[str, str]


def parse_permissions(raw: object) -> tuple[dict[str, str], list[str]]:
    """Validate a permissions value (dict or the string ``"all"``). Returns (perms, problems)."""
    if raw == "all" or raw is None:
        return dict(ALL_PERMISSIONS), []
    if not isinstance(raw, dict):
        return {}, ['permissions must be an object like {"contacts": "write"} or "all"']
    perms: dict[str, str] = {}
    problems: list[str] = []
    for resource, level in raw.items():
        if resource not in RESOURCES:
            problems.append(f"unknown resource {resource!r}; known: {', '.join(RESOURCES)}")
        elif level not in RESOURCES[resource]:
            allowed = " or ".join(repr(x) for x in RESOURCES[resource])
            problems.append(f"{resource} can be granted {allowed}, not {level!r}")
        else:
            perms[resource] = str(level)
    return perms, problems


def missing(perms: dict[str, str], needs: tuple[Need, ...]) -> list[str]:
    """The needed permissions a key lacks, as ``resource:level`` strings (write implies read)."""
    out = []
    for resource, level in needs:
        have = perms.get(resource)
        if have == "write" or have == level:
            continue
        out.append(f"{resource}:{level}")
    return out


@dataclass(slots=True)
class ApiKey:
    """One key of the organisation."""

    key: str
    name: str
    permissions: dict[str, str] = field(default_factory=dict)
    expired: bool = False


class KeyRing:
    """The organisation's keys, looked up by their exact value."""

    def __init__(self, main_key: str) -> None:
        self.main_key = main_key
        self._keys: dict[str, ApiKey] = {}
        self.reset()

    def reset(self) -> None:
        """Drop every key but the main one (which has every permission)."""
        self._keys = {self.main_key: ApiKey(self.main_key, "main", dict(ALL_PERMISSIONS))}

    def add(self, key: ApiKey) -> None:
        """Register a key."""
        self._keys[key.key] = key

    def get(self, key: str) -> ApiKey | None:
        """The key with this exact value, or None."""
        return self._keys.get(key)

    def all(self) -> list[ApiKey]:
        """Every key (the admin view; the sandbox is a test tool)."""
        return list(self._keys.values())
