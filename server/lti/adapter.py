"""PyLTI1p3 (the ``pylti1p3next`` distribution) bound to FastAPI and to our database.

PyLTI1p3 ships adapters for Django and Flask only; a framework adapter is a request, a cookie service, a
redirect, a tool configuration and a launch data storage. Here:

* :class:`ToolRequest` — the form/query parameters of one request, already read by the route;
* :class:`ToolCookies` — reads the request's cookies, collects the ones to set, :meth:`apply` writes them
  (``SameSite=None; Secure`` on https, as the LMS posts the launch from another site);
* :class:`DbLaunchStorage` — nonces, OIDC states and validated launches in ``lti_launch_data`` so that any
  server node can finish a login another node started;
* :class:`DbToolConf` — registrations and deployments from ``lti_registrations`` / ``lti_deployments``
  with the tool's current signing key;
* :class:`ToolOIDCLogin` / :class:`ToolMessageLaunch` — the library's login and launch with three changes:
  the OIDC state must also be one we issued and is used once, the nonce is used once (the library only checks
  that it exists, so the same id_token could be posted again), and the LTI Proctoring messages
  (``LtiStartProctoring``, ``LtiEndAssessment``), which the library refuses, are validated here.
"""

from __future__ import annotations

import hashlib
import logging
import typing as t
from datetime import timedelta
from typing import Any

import requests
from fastapi.responses import RedirectResponse, Response
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, LtiKeyException, LtiMessageValidationException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.message_validators.abstract import MessageValidatorAbstract
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.session import SessionService
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import LtiDeployment, LtiLaunchData, LtiRegistration
from server.lti import claims as C
from server.lti.keys import SigningKey

log = logging.getLogger("server.lti")

USER_AGENT = "proctor-lti/0.1"


class TimeoutSession(requests.Session):
    """A requests session whose every call has a timeout (PyLTI1p3 passes none)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


class ToolRequest(Request):
    def __init__(self, params: t.Mapping[str, Any], secure: bool) -> None:
        self._params = {k: v for k, v in params.items() if isinstance(v, str)}
        self._secure = secure

    @property
    def session(self) -> Any:
        raise NotImplementedError("sessions live in the database (DbLaunchStorage)")

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key, "")


class ToolCookies(CookieService):
    def __init__(self, incoming: t.Mapping[str, str], secure: bool) -> None:
        self.incoming = dict(incoming)
        self.secure = secure
        self.outgoing: list[tuple[str, str, int | None]] = []

    def _name(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str) -> str | None:
        return self.incoming.get(self._name(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.outgoing.append((self._name(name), str(value), exp))

    def apply(self, response: Response) -> Response:
        for name, value, exp in self.outgoing:
            response.set_cookie(name, value, max_age=exp, path="/lti/", httponly=True, secure=self.secure,
                                samesite="none" if self.secure else "lax")
        return response


class DbLaunchStorage(LaunchDataStorage[Any]):
    """Key-value rows with an expiry, inside the request's transaction."""

    _session_cookie_name = ""  # keys are random (nonces, states, launch ids): no per-browser namespace

    def __init__(self, db: Session, default_ttl_s: int) -> None:
        super().__init__()
        self.db = db
        self.default_ttl_s = default_ttl_s

    def can_set_keys_expiration(self) -> bool:
        return True

    def _row(self, key: str) -> LtiLaunchData | None:
        row = self.db.get(LtiLaunchData, self._prepare_key(key)[:255])
        if row is None or row.expires_at <= utcnow():
            return None
        return row

    def get_value(self, key: str) -> Any:
        row = self._row(key)
        return row.value if row is not None else None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        k = self._prepare_key(key)[:255]
        expires = utcnow() + timedelta(seconds=exp or self.default_ttl_s)
        row = self.db.get(LtiLaunchData, k)
        if row is None:
            self.db.add(LtiLaunchData(key=k, value=value, expires_at=expires))
        else:
            row.value, row.expires_at = value, expires
        self.db.flush()

    def check_value(self, key: str) -> bool:
        return self._row(key) is not None

    def consume(self, key: str) -> Any:
        """Delete the key and return its value, or None if it was not there (or expired, or used by another
        request: the DELETE is what decides, so two nodes cannot both use it)."""
        row = self._row(key)
        if row is None:
            return None
        value = row.value
        res = self.db.execute(delete(LtiLaunchData).where(LtiLaunchData.key == row.key,
                                                          LtiLaunchData.expires_at > utcnow()))
        return value if res.rowcount == 1 else None

    def remove(self, key: str) -> None:
        self.db.execute(delete(LtiLaunchData).where(LtiLaunchData.key == self._prepare_key(key)[:255]))


class ToolSessionService(SessionService):
    def __init__(self, storage: DbLaunchStorage) -> None:  # noqa: D107 - no request-bound session here
        self.data_storage = storage

    def check_nonce(self, nonce: str) -> bool:
        return self.data_storage.consume(self._get_key("nonce", nonce)) is not None  # type: ignore[attr-defined]

    def consume_state(self, state: str) -> Any:
        return self.data_storage.consume(self._get_key(state))  # type: ignore[attr-defined]


def lti_registration(row: LtiRegistration, key: SigningKey) -> Registration:
    reg = Registration()
    reg.set_issuer(row.issuer).set_client_id(row.client_id).set_key_set_url(row.key_set_url)
    reg.set_auth_token_url(row.auth_token_url).set_auth_login_url(row.auth_login_url)
    if row.auth_audience:
        reg.set_auth_audience(row.auth_audience)
    reg.set_tool_private_key(key.private_pem).set_tool_public_key(key.public_pem)
    reg.db_id = row.id  # type: ignore[attr-defined]
    return reg


class DbToolConf(ToolConfAbstract[ToolRequest]):
    """Registrations from the database; every issuer may have several client ids."""

    def __init__(self, db: Session, key: SigningKey) -> None:
        self.db = db
        self.key = key

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def registration_row(self, iss: str, client_id: str | None) -> LtiRegistration | None:
        q = select(LtiRegistration).where(LtiRegistration.issuer == iss, LtiRegistration.is_active.is_(True))
        if client_id:
            q = q.where(LtiRegistration.client_id == client_id)
        rows = list(self.db.execute(q.limit(2)).scalars())
        return rows[0] if len(rows) == 1 else None  # several clients of one issuer: the platform must name it

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration | None:  # type: ignore[override]
        return self.find_registration_by_params(iss, "", *args, **kwargs)

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any,  # type: ignore[override]
                                    **kwargs: Any) -> Registration | None:
        row = self.registration_row(iss, client_id)
        return lti_registration(row, self.key) if row is not None else None

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args: Any,
                                  **kwargs: Any) -> Deployment | None:
        row = self.registration_row(iss, client_id)
        if row is None:
            return None
        dep = self.db.execute(select(LtiDeployment).where(LtiDeployment.registration_id == row.id,
                                                          LtiDeployment.deployment_id == deployment_id,
                                                          LtiDeployment.is_active.is_(True))).scalar_one_or_none()
        return Deployment().set_deployment_id(deployment_id) if dep is not None else None


class ToolRedirect(Redirect[Response]):
    def __init__(self, location: str, cookies: ToolCookies) -> None:
        self.location = location
        self.cookies = cookies

    def do_redirect(self) -> Response:
        return self.cookies.apply(RedirectResponse(self.location, status_code=302))

    def do_js_redirect(self) -> Response:
        return self.do_redirect()

    def set_redirect_url(self, location: str) -> None:
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class ToolOIDCLogin(OIDCLogin[ToolRequest, DbToolConf, ToolSessionService, ToolCookies, Response]):
    def get_redirect(self, url: str) -> ToolRedirect:
        return ToolRedirect(url, self._cookie_service)


class ProctoringMessageValidator(MessageValidatorAbstract):
    """LTI Proctoring Services 1.0: LtiStartProctoring and LtiEndAssessment (sent by the platform)."""

    def can_validate(self, jwt_body: t.Mapping[str, Any]) -> bool:
        return jwt_body.get(C.MESSAGE_TYPE) in (C.START_PROCTORING, C.END_ASSESSMENT)

    def validate(self, jwt_body: t.Mapping[str, Any]) -> bool:
        self.run_common_validators(jwt_body)
        if not (jwt_body.get(C.RESOURCE_LINK) or {}).get("id"):
            raise LtiException("Missing Resource Link Id")
        number = jwt_body.get(C.AP_ATTEMPT_NUMBER)
        try:
            if int(number) < 1:  # type: ignore[arg-type]
                raise ValueError
        except (TypeError, ValueError):
            raise LtiException("Missing or bad attempt_number claim") from None
        if jwt_body.get(C.MESSAGE_TYPE) == C.START_PROCTORING:
            if not jwt_body.get(C.AP_START_ASSESSMENT_URL):
                raise LtiException("Missing start_assessment_url claim")
            if not isinstance(jwt_body.get(C.AP_SESSION_DATA), str):
                raise LtiException("Missing session_data claim")
        return True


class ToolMessageLaunch(MessageLaunch[ToolRequest, DbToolConf, ToolSessionService, ToolCookies]):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def get_client_id(self) -> str:
        """The audience that is this tool: ``azp`` when the token names several audiences (OIDC), else ``aud``."""
        body = self._get_jwt_body()
        aud, azp = body.get("aud"), body.get("azp")
        if isinstance(aud, list):
            return azp if azp in aud else (aud[0] if aud else "")
        return aud  # type: ignore[return-value]

    def validate_state(self) -> "ToolMessageLaunch":
        state = self._get_request_param("state")
        if not state:
            raise LtiMessageValidationException("Missing state param")
        if self._session_service.consume_state(state) is None:
            raise LtiMessageValidationException("State not issued by this tool, already used or expired")
        if self._cookie_service.get_cookie(state) != state:
            raise LtiMessageValidationException("State does not match this browser's login")
        return self

    def validate_message(self) -> "ToolMessageLaunch":
        body = self._get_jwt_body()
        aud = body.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and body.get("azp") != self.get_client_id():
            raise LtiMessageValidationException("Several audiences and no azp naming this tool")
        proctoring = ProctoringMessageValidator()
        if proctoring.can_validate(body):
            proctoring.validate(body)
            return self
        return super().validate_message()  # type: ignore[return-value]

    def get_public_key(self) -> tuple[str, str]:
        """The platform's key for the token's kid; a kid not in the cached key set refetches it once (the
        platform rotated its keys)."""
        try:
            return super().get_public_key()
        except LtiKeyException:
            storage = self._public_key_cache_data_storage
            url = self._registration.get_key_set_url() if self._registration else None
            if storage is None or not url:
                raise
            storage.remove("key-set-url-" + hashlib.md5(url.encode("utf-8")).hexdigest())  # type: ignore[attr-defined]
            self._registration.set_key_set(None)  # type: ignore[union-attr]
            return super().get_public_key()

    @property
    def registration_id(self) -> int:
        return self._registration.db_id  # type: ignore[union-attr]

    def body(self) -> dict[str, Any]:
        return dict(self.get_launch_data())


class NoCacheServiceConnector(ServiceConnector):
    """Access tokens are asked for each delivery pass (PyLTI1p3 leaves the cache to the framework)."""

    def __init__(self, registration: Registration, requests_session: requests.Session | None = None) -> None:
        super().__init__(registration, requests_session)
        self._tokens: dict[str, str] = {}

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        return self._tokens.get(scope_key)

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        self._tokens[scope_key] = access_token
