"""All ORM models; importing this package registers every table on ``Base.metadata`` (and, through the
audit tables' ``AppendOnly`` mixin, the append-only check of ``server.db.guards``)."""

from server.db.models.org import ApiKey, AuthToken, College, User
from server.db.models.programme import ClassMeeting, Course, CourseTeacher, CurriculumItem, Enrolment, Material, Programme, Task, TaskSubmission
from server.db.models.exam import Allowance, Answer, Attempt, AttemptTransition, Exam, Question
from server.db.models.proctoring import (
    IdentityEnrolment,
    ProctoringSession,
    RecordingSegment,
    Review,
    ReviewComment,
    SessionEvent,
)
from server.db.models.footprint import Activity
from server.db.models.evidence import EvidenceCheckpoint
from server.db.models.survey import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from server.db.models.webhook import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from server.db.models.lti import (  # noqa: F401
    LtiAttemptLink, LtiContext, LtiDeployment, LtiLaunchData, LtiRegistration, LtiResourceLink, LtiServiceCall,
    LtiToolKey, LtiUserLink,
)
from server.db.models.privacy import ConsentRecord, DeletionRecord, RetentionPolicy  # noqa: F401

__all__ = [
    "Activity", "Allowance", "Answer", "ApiKey", "Attempt", "AttemptTransition", "AuthToken", "ClassMeeting",
    "College", "Course", "CourseTeacher", "CurriculumItem", "Enrolment", "EvidenceCheckpoint", "Exam", "IdentityEnrolment", "Material",
    "ProctoringSession", "Programme", "Question", "RecordingSegment", "Review", "ReviewComment", "SessionEvent",
    "Survey", "SurveyAnswer", "SurveyParticipation", "SurveyQuestion", "SurveyResponse", "Task", "TaskSubmission",
    "User", "WebhookDelivery", "WebhookDeliveryAttempt", "WebhookEndpoint",
]
