"""LTI 1.3 tool: OIDC login and launch (PyLTI1p3), Deep Linking, Names and Role Provisioning, Assignment and
Grade Services, and the tool side of LTI Proctoring Services 1.0 (see README "LMS integration").

:func:`install_lti` adds the routers, the attempt-decision hook and the service-call deliverer to the app.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator


def install_lti(app: Any) -> None:
    from server.lti import admin, routes, services
    from server.lti.deliverer import LtiDeliverer

    settings = app.state.settings
    app.include_router(routes.router)
    app.include_router(admin.router)
    services.install_hooks()
    if not settings.lti_deliverer_enabled:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            deliverer = LtiDeliverer(a.state.session_factory, settings)
            deliverer.start()
            a.state.lti_deliverer = deliverer
            try:
                yield state
            finally:
                deliverer.stop()

    app.router.lifespan_context = lifespan
