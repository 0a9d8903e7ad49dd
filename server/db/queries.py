"""Joins that many queries share. Exams belong to a college through their course, so "of my college" is the
same join for exams, attempts and proctoring sessions; it is written here once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from server.db.models import Attempt, Course, Exam, ProctoringSession


def join_course(q: Select[Any]) -> Select[Any]:
    """``q`` (which reaches ``Exam``) joined to the exam's course."""
    return q.join(Course, Course.id == Exam.course_id)


def exams_of_college(q: Select[Any], college_id: int) -> Select[Any]:
    """``q`` (which reaches ``Exam``) kept to the exams of one college's courses."""
    return join_course(q).where(Course.college_id == college_id)


def attempts_of_college(q: Select[Any], college_id: int) -> Select[Any]:
    """``q`` (which reaches ``Attempt``) kept to the attempts at one college's exams."""
    return exams_of_college(q.join(Exam, Exam.id == Attempt.exam_id), college_id)


def sessions_of_college(q: Select[Any], college_id: int) -> Select[Any]:
    """``q`` (which reaches ``ProctoringSession``) kept to the sessions of one college's attempts."""
    return attempts_of_college(q.join(Attempt, Attempt.id == ProctoringSession.attempt_id), college_id)
