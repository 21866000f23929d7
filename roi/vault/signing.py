"""PDF signing keys: one EC P-256 key and self-signed certificate per organization.

The private key exists in the database only sealed (`vault.seal`, PKCS#8 DER), bound to its row
like every sealed column, so key rotation re-encrypts it with the rest. The certificate is
public: it is the trust root a verifier is given (SECURITY H2).
"""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from roi.clock import now
from roi.vault.aead import Place, open_sealed, seal
from roi.vault.errors import IntegrityFailure

#: about ten years: signed consents are kept at least six (DESIGN.md retention)
CERTIFICATE_LIFETIME = timedelta(days=3653)
#: X.520 upper bound for commonName and organizationName
_NAME_LIMIT = 64


def new_signing_identity(common_name: str, place: Place) -> tuple[bytes, bytes]:
    """A new key and self-signed certificate: (the key sealed for `place`, the certificate PEM).

    The certificate names the organization as CN and O, allows digitalSignature and
    nonRepudiation (what PDF validators expect of a document signer), and is valid ~10 years.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    label = common_name.strip()[:_NAME_LIMIT] or "roi"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, label),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, label),
        ]
    )
    # Start a little in the past so a verifier whose clock lags slightly still accepts it.
    start = now() - timedelta(minutes=5)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return seal(der, place), certificate.public_bytes(serialization.Encoding.PEM)


def load_signing_key(sealed_key: bytes, place: Place) -> ec.EllipticCurvePrivateKey:
    """Open a sealed signing key.

    Raises:
        UnknownKeyId: the blob names a key the ring does not hold.
        IntegrityFailure: the blob was changed or moved, or does not hold an EC key.
    """
    der = open_sealed(sealed_key, place)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError:
        raise IntegrityFailure(place) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IntegrityFailure(place)
    return key
