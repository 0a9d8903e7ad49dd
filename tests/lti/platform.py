"""An LMS for the tests, built on the ``lti1p3platform`` package (not written by this project) and served by
uvicorn on a loopback port.

Why a real local server rather than an httpx MockTransport: the tool talks to platforms through PyLTI1p3,
which uses ``requests`` (the platform's JWKS, the OAuth2 token endpoint, AGS, NRPS, ACS), and the platform
library fetches the tool's key set with ``requests`` too. A MockTransport only intercepts httpx, so both sides
would need their HTTP clients swapped out; over loopback every message goes through the same code as in
production, with real RSA signatures both ways.

What lti1p3platform has: OIDC login initiation, the signed launch (with Deep Linking, AGS and NRPS claims),
the client-credentials token endpoint and the check of the tool's Deep Linking response. What it lacks and is
added here: the LTI Proctoring messages (LtiStartProctoring / LtiEndAssessment claims on its launch, the check
of the tool's LtiStartAssessment), the ACS scope on its token endpoint, and the AGS / NRPS / ACS endpoints
themselves (line items, scores, memberships, controls), which the package leaves to its user.
"""

from __future__ import annotations

import secrets
import threading
import time
import typing as t
from dataclasses import dataclass, field
from html import escape
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lti1p3platform import constants as platform_constants
from lti1p3platform.framework.fastapi.oidc_login import FastAPIOIDCLogin
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration

ISSUER = "https://lms.college.kz"
CLIENT_ID = "proctor-tool-1"
DEPLOYMENT_ID = "deployment-1"
AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
SCOPE_ACS = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"

# the package's token endpoint grants only AGS and NRPS scopes: the proctoring tool also needs ACS
if SCOPE_ACS not in platform_constants.LTI_1P3_ACCESS_TOKEN_SCOPES:
    platform_constants.LTI_1P3_ACCESS_TOKEN_SCOPES.append(SCOPE_ACS)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rsa_pems() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class ThreadServer:
    """uvicorn on 127.0.0.1 in a thread of its own."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, loop="asyncio",
                                                    lifespan="on", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ThreadServer":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class PlatformLogin(FastAPIOIDCLogin):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]


class PlatformLaunch(LTIAdvantageMessageLaunchAbstract):
    """The package's launch with FastAPI plumbing; the test's scenario sets the claims."""

    def get_preflight_response(self) -> dict[str, Any]:
        return dict(self._request.query_params)

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> HTMLResponse:
        return HTMLResponse(
            f'<form method="POST" action="{escape(launch_data["launch_url"])}" id="form">'
            f'<input type="hidden" name="id_token" value="{escape(launch_data["id_token"])}">'
            f'<input type="hidden" name="state" value="{escape(launch_data["state"])}"></form>')


@dataclass
class LmsUser:
    sub: str
    name: str
    email: str
    roles: list[str]


@dataclass
class Scenario:
    kind: str  # deep_link, resource, start_proctoring, end_assessment
    user: LmsUser
    resource_link_id: str | None = None
    attempt_number: int = 1
    expiration: int = 300
    extra: dict[str, Any] = field(default_factory=dict)


class Lms:
    """The LMS: one course (context), its members, line items, received scores, ACS controls, started
    proctored assessments and Deep Linking content items."""

    def __init__(self, tool_base: str, *, client_id: str = CLIENT_ID, deployment_id: str = DEPLOYMENT_ID) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tool_base = tool_base
        self.private_pem, self.public_pem = rsa_pems()
        self.registration = (Registration().set_iss(ISSUER).set_client_id(client_id).set_deployment_id(deployment_id)
                             .set_oidc_login_url(f"{tool_base}/lti/login").set_launch_url(f"{tool_base}/lti/launch")
                             .set_deeplink_launch_url(f"{tool_base}/lti/launch")
                             .set_platform_public_key(self.public_pem).set_platform_private_key(self.private_pem)
                             .set_tool_key_set_url(f"{tool_base}/lti/jwks"))
        self.context = {"id": "course-42", "label": "PY101", "title": "Python (LMS)"}
        self.scenarios: dict[str, Scenario] = {}
        self.members: list[dict[str, Any]] = []
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: list[dict[str, Any]] = []
        self.acs: list[dict[str, Any]] = []
        self.acs_status = "running"
        self.started: list[dict[str, Any]] = []
        self.content_items: list[dict[str, Any]] = []
        self.links: dict[str, dict[str, Any]] = {}  # resource link id -> {"custom", "lineitem"}
        self.session_data: dict[tuple[str, int], str] = {}
        self.token_requests = 0
        self.lineitems_from_deep_links = True  # Moodle makes the column from the link's lineItem; some LMSs do not
        self.app = self._build()
        self.server = ThreadServer(self.app, self.port)

    # --- what a test drives ---------------------------------------------------------------------------
    def conf(self) -> PlatformConf:
        return PlatformConf(registration=self.registration)

    def registration_body(self) -> dict[str, Any]:
        """What the college pastes into the tool's registration API."""
        return {"name": "College Moodle", "platform": "moodle", "issuer": ISSUER,
                "client_id": self.registration.get_client_id(), "auth_login_url": f"{self.base}/auth",
                "auth_token_url": f"{self.base}/token", "key_set_url": f"{self.base}/jwks",
                "deployment_ids": [self.registration.get_deployment_id()]}

    def login_url(self, scenario: Scenario) -> str:
        """The third-party initiated login the LMS sends the browser to (lti1p3platform builds it)."""
        hint = secrets.token_hex(8)
        self.scenarios[hint] = scenario
        login = PlatformLogin(None, self.conf())
        login.set_lti_message_hint(hint=hint)
        return login.initiate_login(scenario.user.sub).headers["location"]

    def member(self, user: LmsUser) -> None:
        self.members.append({"user_id": user.sub, "name": user.name, "email": user.email, "roles": user.roles,
                             "status": "Active"})

    def token_ok(self, request: Request, scope: str) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        conf = self.conf()
        conf.get_registration()
        try:
            return conf.validate_token(auth[7:], allowed_scopes=[scope])
        except Exception:  # noqa: BLE001 - any bad token is a 401
            return False

    # --- the launch claims per scenario ---------------------------------------------------------------
    def _prepare(self, launch: PlatformLaunch, s: Scenario) -> None:
        u = s.user
        launch.set_user_data(u.sub, u.roles, full_name=u.name, email_address=u.email)
        launch.set_launch_context_claim(self.context["id"], context_title=self.context["title"],
                                        context_label=self.context["label"])
        launch.set_nrps(f"{self.base}/nrps/memberships")
        launch.set_id_token_expiration(s.expiration)
        if s.kind == "deep_link":
            launch.set_dl(f"{self.base}/deep_link_return", title="Add a proctored exam",
                          accept_types={"ltiResourceLink"}, extra_data={"opaque": "dl-data-1"})
            launch.set_extra_claims(s.extra)
            return
        link = self.links.get(s.resource_link_id or "", {})
        launch.set_resource_link_claim(s.resource_link_id or "rl-unknown", title=link.get("title"))
        if link.get("custom"):
            launch.set_custom_parameters_claim(link["custom"])
        launch.set_launch_presentation_claim("window", f"{self.base}/course")
        if s.kind == "resource":
            launch.set_ags(f"{self.base}/ags/lineitems", link.get("lineitem"), allow_creating_lineitems=True)
        elif s.kind == "start_proctoring":
            data = secrets.token_urlsafe(12)
            self.session_data[(u.sub, s.attempt_number)] = data
            launch.set_extra_claims({
                LTI + "message_type": "LtiStartProctoring",
                AP + "start_assessment_url": f"{self.base}/start_assessment",
                AP + "session_data": data,
                AP + "attempt_number": s.attempt_number,
                AP + "acs": {"actions": ["flag", "terminate"], "assessment_control_url": f"{self.base}/acs"},
            })
        elif s.kind == "end_assessment":
            launch.set_extra_claims({LTI + "message_type": "LtiEndAssessment",
                                     AP + "attempt_number": s.attempt_number})
        launch.set_extra_claims(s.extra)

    # --- the app --------------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI()
        lms = self

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            conf = lms.conf()
            conf.get_registration()
            return conf.get_jwks()

        @app.get("/auth")
        def auth(request: Request) -> Response:
            q = dict(request.query_params)
            if q.get("redirect_uri") != lms.registration.get_launch_url():
                return JSONResponse({"error": "redirect_uri is not the registered launch URL"}, 400)
            scenario = lms.scenarios.get(q.get("lti_message_hint", ""))
            if scenario is None or q.get("login_hint") != scenario.user.sub:
                return JSONResponse({"error": "unknown login"}, 400)

            class Launch(PlatformLaunch):
                def prepare_launch(self, preflight: dict[str, Any]) -> None:
                    lms._prepare(self, scenario)

            return Launch(request, lms.conf()).lti_launch()

        @app.post("/token")
        async def token(request: Request) -> Response:
            lms.token_requests += 1
            form = dict(await request.form())
            conf = lms.conf()
            conf.get_registration()
            try:
                return JSONResponse(conf.get_access_token(form))
            except Exception as exc:  # noqa: BLE001 - the tool's bad assertion
                return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, 401)

        @app.post("/deep_link_return")
        async def deep_link_return(request: Request) -> Response:
            form = dict(await request.form())
            conf = lms.conf()
            conf.get_registration()
            items = conf.validate_deeplinking_resp({"JWT": form["JWT"]})
            body = jwt.decode(form["JWT"], options={"verify_signature": False})
            for item in items:
                rl_id = f"rl-{len(lms.links) + 1}"
                lineitem_url = None
                if item.get("lineItem") and lms.lineitems_from_deep_links:
                    li_id = f"li-{len(lms.lineitems) + 1}"
                    lineitem_url = f"{lms.base}/ags/lineitems/{li_id}"
                    lms.lineitems[li_id] = {"id": lineitem_url, "resourceLinkId": rl_id, **item["lineItem"]}
                lms.links[rl_id] = {"custom": item.get("custom") or {}, "lineitem": lineitem_url,
                                    "title": item.get("title"), "url": item.get("url")}
                lms.content_items.append(item | {"resource_link_id": rl_id,
                                                 "data": body.get("https://purl.imsglobal.org/spec/lti-dl/claim/data")})
            return HTMLResponse("<p>added</p>")

        @app.get("/ags/lineitems")
        def lineitems(request: Request) -> Response:
            if not lms.token_ok(request, SCOPE_LINEITEM):
                return JSONResponse({"error": "unauthorized"}, 401)
            return JSONResponse(list(lms.lineitems.values()),
                                media_type="application/vnd.ims.lis.v2.lineitemcontainer+json")

        @app.post("/ags/lineitems")
        async def create_lineitem(request: Request) -> Response:
            if not lms.token_ok(request, SCOPE_LINEITEM):
                return JSONResponse({"error": "unauthorized"}, 401)
            item = await request.json()
            li_id = f"li-{len(lms.lineitems) + 1}"
            item["id"] = f"{lms.base}/ags/lineitems/{li_id}"
            lms.lineitems[li_id] = item
            return JSONResponse(item, 201, media_type="application/vnd.ims.lis.v2.lineitem+json")

        @app.post("/ags/lineitems/{li_id}/scores")
        async def score(li_id: str, request: Request) -> Response:
            if not lms.token_ok(request, SCOPE_SCORE):
                return JSONResponse({"error": "unauthorized"}, 401)
            if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
                return JSONResponse({"error": "wrong media type"}, 415)
            if li_id not in lms.lineitems:
                return JSONResponse({"error": "no such line item"}, 404)
            lms.scores.append({"lineitem": li_id, **(await request.json())})
            return Response(status_code=204)

        @app.get("/nrps/memberships")
        def memberships(request: Request) -> Response:
            if not lms.token_ok(request, SCOPE_NRPS):
                return JSONResponse({"error": "unauthorized"}, 401)
            return JSONResponse({"id": f"{lms.base}/nrps/memberships", "context": lms.context,
                                 "members": lms.members},
                                media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")

        @app.post("/acs")
        async def acs(request: Request) -> Response:
            if not lms.token_ok(request, SCOPE_ACS):
                return JSONResponse({"error": "unauthorized"}, 401)
            if request.headers.get("content-type") != "application/vnd.ims.lti-ap.v1.control+json":
                return JSONResponse({"error": "wrong media type"}, 415)
            control = await request.json()
            lms.acs.append(control)
            if control.get("action") == "terminate":
                lms.acs_status = "terminated"
            return JSONResponse({"status": lms.acs_status},
                                media_type="application/vnd.ims.lti-ap.v1.control.result+json")

        @app.post("/start_assessment")
        async def start_assessment(request: Request) -> Response:
            form = dict(await request.form())
            conf = lms.conf()
            conf.get_registration()
            try:
                body = conf.tool_validate_and_decode(form["JWT"])  # the tool's signature, from its JWKS
            except Exception as exc:  # noqa: BLE001
                return JSONResponse({"error": f"bad LtiStartAssessment: {exc}"}, 401)
            problems = []
            if body.get("aud") not in (ISSUER, [ISSUER]) or body.get("iss") != lms.registration.get_client_id():
                problems.append("iss/aud")
            if body.get(LTI + "message_type") != "LtiStartAssessment":
                problems.append("message_type")
            key = (None, body.get(AP + "attempt_number"))
            expected = [v for (sub, n), v in lms.session_data.items() if n == key[1]]
            if body.get(AP + "session_data") not in expected:
                problems.append("session_data")
            if problems:
                return JSONResponse({"error": "claims", "problems": problems}, 400)
            lms.started.append(body)
            return HTMLResponse("<p>assessment started</p>")

        @app.get("/course")
        def course() -> HTMLResponse:
            return HTMLResponse("<p>course page</p>")

        return app

    def start(self) -> "Lms":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()


def form_fields(html: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the (first) auto-post form of a page."""
    import re
    from html import unescape

    action = re.search(r'<form[^>]*action="([^"]*)"', html) or re.search(r"<form[^>]*action='([^']*)'", html)
    assert action, html[:500]
    fields = {unescape(m.group(1)): unescape(m.group(2))
              for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    return unescape(action.group(1)), fields


def wait_for(cond: t.Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()
