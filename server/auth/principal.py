"""Who is calling: a signed-in person (with a role) or a college's API key."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.enums import Role


@dataclass(frozen=True)
class Principal:
    college_id: int
    user_id: int | None = None
    role: Role | None = None
    api_key_id: int | None = None
    token_id: int | None = None
    scopes: tuple[str, ...] | None = None  # an API key's scopes (server.security.scopes)

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def actor(self) -> str:
        return f"api_key:{self.api_key_id}" if self.is_api_key else f"user:{self.user_id}"

    def has_role(self, *roles: Role) -> bool:
        return self.role is not None and self.role in roles

    @property
    def acts_for_college(self) -> bool:
        """May manage the college's programmes, courses, exams and people (API key or college admin)."""
        return self.is_api_key or self.role is Role.college_admin
