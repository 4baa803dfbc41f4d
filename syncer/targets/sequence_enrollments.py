"""``sequence_enrollments``: enroll one contact in a sequence per row (Reevo endpoint 16).

Reevo enrolls one contact per request and has no update and no search for enrollments: a
create-only target (:attr:`Target.updatable` False). The key is the contact's e-mail
(lowercased) and the sequence id: the ledger remembers the enrollment id each key got, so a
contact syncer enrolled in a sequence is never sent again. Reevo refuses a contact already in
the sequence (409): the row then succeeds with an ``already_enrolled`` warning (enrolled
outside syncer, or by an earlier attempt whose answer was lost), never a second enrollment.

``mailbox_email`` is optional (omitted: Reevo picks a mailbox of the contact's owner).
Preflight proves the Sequence Enrollment write permission; the mailbox checks are the
runner's (:func:`syncer.runner.enroll.check_mailboxes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from syncer.errors import RowRejected
from syncer.targets.base import FieldKind, IdColumn, Probe, Row, RowContext, Target

if TYPE_CHECKING:  # pure expression functions: polars is not loaded here
    import polars as pl

__all__ = ["KEY_SEP", "NAME", "TARGET", "enrollment_key"]

NAME = "sequence_enrollments"
METHOD, PATH = "POST", "sequence_enrollments"
#: between the e-mail and the sequence id in the key
KEY_SEP = " in "

FIELDS = {
    "contact_email": FieldKind.CONTACT_EMAIL,
    "sequence_id": FieldKind.TEXT,
    "mailbox_email": FieldKind.CONTACT_EMAIL,
}

IDS = (IdColumn("enrollment_id", "reevo_enrollment_id", key="id", nested="enrollment"),)


def enrollment_key(email: str, sequence_id: str) -> str:
    """The ledger key of ``email`` enrolled in ``sequence_id`` (what :func:`_key_of` makes)."""
    return f"{email.strip().lower()}{KEY_SEP}{sequence_id.strip().lower()}"


def _key_of(fields: Mapping[str, pl.Expr]) -> pl.Expr:
    """``<e-mail, lowercased> in <sequence id, lowercased>``; null when either is blank
    (KeyError when either is not mapped: a required field, reported as such)."""
    email, sequence = fields["contact_email"], fields["sequence_id"]
    return (
        email.str.strip_chars().str.to_lowercase()
        + KEY_SEP
        + sequence.str.strip_chars().str.to_lowercase()
    )


async def push(ctx: RowContext, row: Row) -> None:
    """One create (never repeated once Reevo may have applied it); a 409 says the contact is
    in the sequence already: the row succeeds with a warning, nothing is created."""
    try:
        data = await ctx.request(METHOD, PATH, json=row.body, idempotent=False)
    except RowRejected as exc:
        if exc.status != 409:
            raise
        ctx.warn(
            "already_enrolled",
            f"{row.body.get('contact_email')} is enrolled in sequence "
            f"{row.body.get('sequence_id')} already (outside syncer, or by an earlier attempt "
            "whose answer was lost): not enrolled again",
        )
        return
    ctx.remember(TARGET.ids_in(data))


TARGET = Target(
    name=NAME,
    summary="enrolls a contact (by e-mail) in a sequence, once",
    fields=FIELDS,
    required=("contact_email", "sequence_id"),
    key_field="contact_email",
    key_label="e-mail and sequence",
    key_of=_key_of,
    key_missing="no key: a row needs contact_email and sequence_id",
    key_text="contact_email + sequence_id",
    custom=(),
    endpoint=(METHOD, PATH),
    idempotent=False,
    updatable=False,
    write_permissions=("Sequence Enrollment Write",),
    read_permissions=(),
    id_columns=IDS,
    # an empty body: Reevo checks the key and the permission, then refuses it (422)
    probes=(Probe(METHOD, PATH),),
    push=push,
)
