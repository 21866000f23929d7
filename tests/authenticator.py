"""A software passkey for tests without a browser: it signs answers the way a browser's
authenticator would, so each refusal of SECURITY A11 can be made exactly."""

from __future__ import annotations

import hashlib
import json

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session
from webauthn.helpers import bytes_to_base64url

from roi.accounts import passkeys
from roi.accounts.models import PasskeyCredential

#: where the domain tests' browser is
RP = passkeys.RelyingParty(rp_id="roi.example", origin="https://roi.example")
#: where Flask's test client is (http://localhost/), as `roi.web.security.relying_party` sees it
TEST_CLIENT = passkeys.RelyingParty(rp_id="localhost", origin="http://localhost")


class SoftAuthenticator:
    """One passkey: an EC P-256 key and its counter, answering challenges like a browser."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = bytes_to_base64url(b"soft-authenticator-1")
        self.sign_count = 0

    def public_key(self) -> bytes:
        """The public key as COSE (EC2, ES256), as a registration stores it."""
        numbers = self.key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def answer(self, options: str, origin: str = RP.origin) -> str:
        """The credential JSON a browser on `origin` posts for `options` (its client data says
        `origin`; the relying party signed for is the options' `rpId`)."""
        self.sign_count += 1
        client_data = json.dumps(
            {
                "type": "webauthn.get",
                "challenge": json.loads(options)["challenge"],
                "origin": origin,
            }
        ).encode()
        flags = 0x05  # user present, user verified
        authenticator_data = (
            hashlib.sha256(json.loads(options)["rpId"].encode()).digest()
            + bytes([flags])
            + self.sign_count.to_bytes(4, "big")
        )
        signed = authenticator_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": self.credential_id,
                "rawId": self.credential_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(authenticator_data),
                    "signature": bytes_to_base64url(signature),
                },
            }
        )


def add_passkey(session: Session, user_id: int) -> SoftAuthenticator:
    """A new software passkey, registered for the user (committed)."""
    authenticator = SoftAuthenticator()
    session.add(
        PasskeyCredential(
            user_id=user_id,
            credential_id=authenticator.credential_id,
            public_key=authenticator.public_key(),
            name="Soft key",
        )
    )
    session.commit()
    return authenticator
