"""Security guards of the server (issue 12): request body limits, security headers, CSRF origin checks,
sign-in throttling, network address checks (webhooks, ICE), API key scopes and secrets at rest."""
