"""The scopes an API key can carry: ``<area>:read`` and ``<area>:write`` (checked in server.security.scopes)."""

from __future__ import annotations

AREAS = ("people", "curriculum", "exams", "webhooks", "footprint", "surveys", "lti", "privacy")
ALL_SCOPES = tuple(f"{a}:{k}" for a in AREAS for k in ("read", "write"))
