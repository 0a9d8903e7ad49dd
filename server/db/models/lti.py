"""LTI 1.3: the tool's own signing keys, one registration per platform (issuer + client id) with its
deployments, the OIDC/launch data store (nonces, states, launches), the links between LMS people, courses and
resource links and ours, and the outbox of calls to the platforms' services (AGS scores, ACS controls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, UTCDateTime, one_of, utcnow

KEY_STATES = ("next", "active", "retired")
CALL_KINDS = ("ags_score", "acs_flag", "acs_terminate")
CALL_STATUSES = ("pending", "delivered", "failed")


class LtiToolKey(Base):
    """An RSA key the tool signs with. ``next`` keys are published in the JWKS before they sign (so platforms
    that cache the key set know them in time), ``active`` signs, ``retired`` is still published until
    ``expires_at`` so tokens it signed stay checkable."""

    __tablename__ = "lti_tool_keys"
    __table_args__ = (one_of("state", KEY_STATES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no longer published after this


class LtiRegistration(Base):
    """A platform (LMS) registered by a college: its issuer and the client id it gave the tool."""

    __tablename__ = "lti_registrations"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(32), default="other")  # moodle, canvas, openedx, blackboard, ...
    issuer: Mapped[str] = mapped_column(String(512))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    deployments: Mapped[list["LtiDeployment"]] = relationship(back_populates="registration",
                                                              cascade="all, delete-orphan",
                                                              order_by="LtiDeployment.id")


class LtiDeployment(Base):
    __tablename__ = "lti_deployments"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[LtiRegistration] = relationship(back_populates="deployments")


class LtiLaunchData(Base):
    """PyLTI1p3's launch data storage, shared by every server node: OIDC nonces and states, validated launches.
    Rows expire; a nonce row is deleted when a launch uses it (so a replayed id_token is refused)."""

    __tablename__ = "lti_launch_data"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LtiUserLink(Base):
    """An LMS user (``sub`` of a registration) is this person of the college."""

    __tablename__ = "lti_user_links"
    __table_args__ = (UniqueConstraint("registration_id", "sub"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiContext(Base):
    """An LMS course (context) is this course of ours; the NRPS roster URL comes with the launches."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    memberships_url: Mapped[str | None] = mapped_column(String(1024))
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiResourceLink(Base):
    """A link placed in an LMS course that opens one of our exams, with its gradebook column (AGS)."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[int | None] = mapped_column(ForeignKey("lti_contexts.id", ondelete="SET NULL"))
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(255))
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LtiAttemptLink(Base):
    """An attempt that came from an LMS: who it is there, and for LTI Proctoring the platform's attempt."""

    __tablename__ = "lti_attempt_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), unique=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("lti_resource_links.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    proctoring: Mapped[bool] = mapped_column(Boolean, default=False)
    lms_attempt_number: Mapped[int | None] = mapped_column(Integer)
    session_data: Mapped[str | None] = mapped_column(Text)  # opaque, echoed back in LtiStartAssessment
    start_assessment_url: Mapped[str | None] = mapped_column(String(1024))
    acs_url: Mapped[str | None] = mapped_column(String(1024))
    acs_actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    assessment_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # LtiStartAssessment sent
    assessment_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # LtiEndAssessment received
    flagged_seq: Mapped[int] = mapped_column(Integer, default=-1)  # events up to this seq were looked at for flags
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiServiceCall(Base):
    """Outbox of calls to a platform's services, written in the transaction of the change they report and
    sent by the LTI deliverer with the webhooks' retry policy; every try is appended to ``log``."""

    __tablename__ = "lti_service_calls"
    __table_args__ = (
        Index("ix_lti_service_calls_status_next_attempt_at", "status", "next_attempt_at"),
        one_of("kind", CALL_KINDS),
        one_of("status", CALL_STATUSES),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lti_registrations.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
