"""Who is acting: built by the web layer or the CLI, passed to every service function."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CLINICIAN = "clinician"
    CLIENT = "client"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    SYSTEM = "system"
    #: someone not signed in (a failed sign-in is audited with this role)
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    """On whose behalf a service runs (a person or the system), and where the request came from."""

    user_id: int | None
    role: Role
    organization_id: int | None
    ip: str | None = None
    request_id: str | None = None
    #: the client record a client user is linked to; None for every other role
    client_id: int | None = None

    @classmethod
    def anonymous(
        cls,
        ip: str | None = None,
        request_id: str | None = None,
        *,
        organization_id: int | None = None,
    ) -> Actor:
        """Someone not signed in; `organization_id` is the practice of the known account they
        tried, so its compliance officer sees the attempt (the role is granted nothing by it)."""
        return cls(
            user_id=None,
            role=Role.ANONYMOUS,
            organization_id=organization_id,
            ip=ip,
            request_id=request_id,
        )

    @classmethod
    def system(cls, request_id: str | None = None) -> Actor:
        """The actor for the CLI and background work: no user, no organization."""
        return cls(user_id=None, role=Role.SYSTEM, organization_id=None, request_id=request_id)
