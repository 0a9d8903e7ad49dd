"""LTI Proctoring Services 1.0, the tool's own messages: the signed ``LtiStartAssessment`` the student's
browser posts to the platform once the identity check and the room scan passed. (Validation of the platform's
``LtiStartProctoring`` / ``LtiEndAssessment`` is in server.lti.adapter; the Assessment Control Service calls
are queued by server.lti.services.)"""

from __future__ import annotations

import time
import uuid
from html import escape
from typing import Any

import jwt

from server.db.models import LtiAttemptLink, LtiRegistration, LtiResourceLink
from server.lti import claims as C
from server.lti.keys import SigningKey


def start_assessment_jwt(key: SigningKey, reg: LtiRegistration, rl: LtiResourceLink, link: LtiAttemptLink, *,
                         verified_user: dict[str, Any] | None = None, ttl_s: int = 300) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": reg.client_id,
        "aud": reg.issuer,
        "iat": now,
        "exp": now + ttl_s,
        "nonce": uuid.uuid4().hex,
        C.DEPLOYMENT_ID: rl.deployment_id,
        C.MESSAGE_TYPE: C.START_ASSESSMENT,
        C.VERSION: "1.3.0",
        C.RESOURCE_LINK: {"id": rl.resource_link_id},
        C.AP_SESSION_DATA: link.session_data or "",
        C.AP_ATTEMPT_NUMBER: link.lms_attempt_number,
        C.AP_END_ASSESSMENT_RETURN: True,  # ask the platform to send LtiEndAssessment when the student finishes
    }
    if verified_user:
        claims[C.AP_VERIFIED_USER] = verified_user
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def auto_post_form(action: str, fields: dict[str, str], title: str = "Continuing to the LMS") -> str:
    """An HTML page that posts ``fields`` to ``action`` at once (with a button if scripts are off)."""
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"
            f'<form id="lti-post" method="post" action="{escape(action)}">{inputs}'
            f'<button type="submit">Continue</button></form>'
            # a script file of ours, not inline, so a strict Content-Security-Policy (script-src 'self') allows it
            '<script src="/lti/autopost.js"></script></body></html>')


AUTOPOST_JS = "document.getElementById('lti-post').submit();\n"
