"""The organization's PDF signing credential: a certificate (public) and its sealed private key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from roi.clock import now
from roi.db import Base, UTCDateTime, new_uuid


class SigningCredential(Base):
    """One signing identity per organization, created on first use or by `roi init`."""

    __tablename__ = "signing_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    #: the organization's id; a plain column (no foreign key) because roi.documents sits below
    #: roi.accounts and must not depend on its tables
    organization_id: Mapped[int] = mapped_column(unique=True)
    #: the certificate's subject (CN = O = the organization's name when it was created)
    subject: Mapped[str] = mapped_column(String(200))
    #: self-signed X.509 certificate, PEM; public (it is the verifier's trust root)
    certificate_pem: Mapped[str] = mapped_column(Text)
    #: sealed by roi.vault (Place("signing_credentials", "private_key_sealed", uuid)); PKCS#8 DER
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary, info={"sealed": True})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: the certificate's notAfter
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<SigningCredential {self.id} org={self.organization_id}>"
