"""Surveys about the LMS, the programme and the content; anonymous or named answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, UTCDateTime, one_of, utcnow
from server.domain.enums import SurveyQuestionKind, SurveyTopic, values


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (one_of("topic", values(SurveyTopic)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list["SurveyQuestion"]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="SurveyQuestion.position"
    )


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (one_of("kind", values(SurveyQuestionKind)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str] | None] = mapped_column(JSON)

    survey: Mapped[Survey] = relationship(back_populates="questions")


class SurveyParticipation(Base):
    """Who has answered (so nobody answers twice), kept apart from the answers so anonymity holds: no serial
    id and no time here, random ids on responses and none on answers, so the order of answering does not
    link a person to a response."""

    __tablename__ = "survey_participations"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    respondent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # None: anonymous
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    # anonymous responses keep only the day, so the time cannot be matched to the participation
    submitted_on: Mapped[str] = mapped_column(String(10))

    answers: Mapped[list["SurveyAnswer"]] = relationship(cascade="all, delete-orphan")


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"

    response_id: Mapped[str] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
