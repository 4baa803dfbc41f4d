"""Request bodies of Reevo's public API v1, as the help page lists them (pydantic v2).

Unknown body keys are ignored, as FastAPI does by default. ``ZoneRequiredDateTime`` is
pydantic's ``AwareDatetime``: a timestamp without a zone is a 422 ``timezone_aware``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, model_validator

CustomFields = dict[str, str | list[str]]
ZoneRequiredDateTime = AwareDatetime


class AccountContactIn(BaseModel):
    """POST account_contact: upsert a contact by e-mail, and its account."""

    email: EmailStr
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    phone_number: str | None = None
    company: str | None = None
    title: str | None = None
    department: str | None = None
    contact_linkedin_url: str | None = None
    contact_facebook_url: str | None = None
    contact_zoominfo_url: str | None = None
    contact_x_url: str | None = None
    contact_owner_email: str | None = None
    account_linkedin_url: str | None = None
    account_facebook_url: str | None = None
    account_zoominfo_url: str | None = None
    account_x_url: str | None = None
    account_owner_email: str | None = None
    account_website: str | None = None
    account_custom_fields: CustomFields | None = None
    contact_custom_fields: CustomFields | None = None


class AccountIn(BaseModel):
    """POST accounts."""

    name: str = Field(min_length=1)
    owner_email: str | None = None
    official_website: str | None = None
    domain_name: str | None = None
    linkedin_url: str | None = None
    facebook_url: str | None = None
    zoominfo_url: str | None = None
    x_url: str | None = None
    custom_fields: CustomFields | None = None


class AccountPatch(BaseModel):
    """PATCH accounts/{account_id}: every field optional."""

    name: str | None = Field(default=None, min_length=1)
    owner_email: str | None = None
    official_website: str | None = None
    linkedin_url: str | None = None
    facebook_url: str | None = None
    zoominfo_url: str | None = None
    x_url: str | None = None
    custom_fields: CustomFields | None = None


class AccountSearch(BaseModel):
    """POST accounts/search: domain contains."""

    domain_name: str
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class OpportunityIn(BaseModel):
    """POST opportunities."""

    display_name: str = Field(min_length=1)
    account_id: UUID
    owner_email: str | None = None
    primary_contact_email: str | None = None
    amount: Decimal | None = None
    pipeline_name: str | None = None
    custom_fields: CustomFields | None = None


STAGE_KEYS = ("stage", "stage_name", "stage_id", "target_stage_name")


class OpportunityPatch(BaseModel):
    """PATCH opportunities/{id}: never the stage (that is shift_stage)."""

    display_name: str | None = Field(default=None, min_length=1)
    account_id: UUID | None = None
    owner_email: str | None = None
    primary_contact_email: str | None = None
    additional_contact_emails: list[str] | None = None
    amount: Decimal | None = None
    next_step_details: str | None = None
    next_step_due_at: ZoneRequiredDateTime | None = None
    custom_fields: CustomFields | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_stage(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in STAGE_KEYS):
            raise ValueError(
                "Opportunity stage cannot be changed via PATCH; use the shift_stage endpoint"
            )
        return data


class PipelineStatus(StrEnum):
    """Opportunity status filter."""

    PROSPECT = "PROSPECT"
    DEAL = "DEAL"


class OpportunitySearch(BaseModel):
    """POST opportunities/search: every filter optional, all must match."""

    display_name: str | None = None
    account_id: UUID | None = None
    owner_email: EmailStr | None = None
    status: PipelineStatus | None = None
    stage_name: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class ShiftStageIn(BaseModel):
    """POST opportunities/{id}/shift_stage."""

    target_stage_name: str = Field(min_length=1)
    closed_reason_names: list[str] | None = None
    closed_reason_custom_detail: str | None = None


class TaskStatus(StrEnum):
    """Task status."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


class TaskPriority(StrEnum):
    """Task priority."""

    URGENT = "URGENT"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class TaskType(StrEnum):
    """Task type."""

    ACTION_ITEM = "ACTION_ITEM"
    LINKEDIN_MESSAGE = "LINKEDIN_MESSAGE"
    REMINDER = "REMINDER"
    SCHEDULING = "SCHEDULING"
    EMAIL = "EMAIL"
    VOICE_CALL = "VOICE_CALL"
    LINKEDIN_CONNECT_REQUEST = "LINKEDIN_CONNECT_REQUEST"
    SMS_MESSAGE = "SMS_MESSAGE"
    CUSTOM_TASK = "CUSTOM_TASK"


class TaskIn(BaseModel):
    """POST tasks."""

    title: str = Field(min_length=1)
    owner_email: EmailStr
    status: TaskStatus = TaskStatus.OPEN
    priority: TaskPriority = TaskPriority.MEDIUM
    type: TaskType = TaskType.REMINDER
    due_at: ZoneRequiredDateTime | None = None
    note: str | None = None
    account_id: UUID | None = None
    contact_emails: list[EmailStr] | None = None
    opportunity_name: str | None = None


class ActivityCategory(StrEnum):
    """Manual activity category."""

    TEXT = "TEXT"
    LINKEDIN = "LINKEDIN"
    SOCIAL_MEDIA = "SOCIAL_MEDIA"
    EVENT = "EVENT"
    CONFERENCE = "CONFERENCE"
    WEBINAR = "WEBINAR"
    CALL = "CALL"
    OTHER = "OTHER"


class ActivityMetadata(BaseModel):
    """The ``metadata`` object of a manual activity."""

    activity_time: ZoneRequiredDateTime
    subject: str = Field(min_length=1)
    description: str
    category: ActivityCategory = ActivityCategory.OTHER


class ManualActivityIn(BaseModel):
    """POST manual_activities."""

    metadata: ActivityMetadata
    account_id: UUID | None = None
    contact_ids: list[UUID] | None = None
    pipeline_id: UUID | None = None
    sequence_id: UUID | None = None


class UserSearch(BaseModel):
    """POST users/search."""

    email: EmailStr


class MailboxSearch(BaseModel):
    """POST mailboxes/search."""

    owner_user_email: EmailStr


class EnrollmentIn(BaseModel):
    """POST sequence_enrollments: one contact per request."""

    contact_email: EmailStr
    sequence_id: UUID
    mailbox_email: EmailStr | None = None
