"""LTI 1.3 / Advantage / Proctoring claim names, message types, scopes and media types."""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"

DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
AP_START_ASSESSMENT_URL = AP + "start_assessment_url"
AP_SESSION_DATA = AP + "session_data"
AP_ATTEMPT_NUMBER = AP + "attempt_number"
AP_END_ASSESSMENT_RETURN = AP + "end_assessment_return"
AP_VERIFIED_USER = AP + "verified_user"
AP_ACS = AP + "acs"
AP_PROCTORING_SETTINGS = AP + "proctoring_settings"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
START_PROCTORING = "LtiStartProctoring"
START_ASSESSMENT = "LtiStartAssessment"
END_ASSESSMENT = "LtiEndAssessment"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_ACS = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"

ACS_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
ACS_RESULT_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control.result+json"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"

# LIS roles that make an LMS user staff of the course (instructors pick exams with Deep Linking)
INSTRUCTOR_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "Instructor",
)
LEARNER_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
    "Learner",
)


def is_instructor(roles: list[str] | None) -> bool:
    return any(r in INSTRUCTOR_ROLES for r in roles or [])


def is_learner(roles: list[str] | None) -> bool:
    return any(r in LEARNER_ROLES for r in roles or [])
