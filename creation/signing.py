"""The key and certificate that sign our C2PA manifests.

A real deployment points FIDELIS_C2PA_CERT / FIDELIS_C2PA_KEY at a certificate from a C2PA-trusted
CA. Otherwise the project creates its own CA and signing certificate on first use, under
var/c2pa/. c2pa-rs refuses self-signed end-entity certificates and insists on (measured here,
../shared/DEPENDENCIES.md): ES256 on P-256, issued by a CA, KeyUsage digitalSignature, an
emailProtection extended key usage and an AuthorityKeyIdentifier.
"""

from __future__ import annotations

import datetime
import fcntl
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

VALIDITY = datetime.timedelta(days=3650)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fidelis"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_ca_and_signer() -> tuple[bytes, bytes, bytes]:
    """(signer chain PEM: signer + CA, signer key PEM, CA certificate PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Fidelis provenance CA (self-managed)")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name("Fidelis concept image signer"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return signer.public_bytes(pem) + ca.public_bytes(pem), _pem_key(key), ca.public_bytes(pem)


@cache
def signing_credentials() -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM), from settings or created once under var/c2pa/."""
    if settings.FIDELIS_C2PA_CERT:
        return (
            Path(settings.FIDELIS_C2PA_CERT).read_bytes(),
            Path(settings.FIDELIS_C2PA_KEY).read_bytes(),
        )
    folder = Path(settings.VAR_DIR) / "c2pa"
    folder.mkdir(parents=True, exist_ok=True)
    chain, key = folder / "signer-chain.pem", folder / "signer-key.pem"
    # Several workers may start at once: one creates the pair, the others wait and read it.
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not key.exists():
            chain_pem, key_pem, ca_pem = create_ca_and_signer()
            (folder / "ca.pem").write_bytes(ca_pem)
            chain.write_bytes(chain_pem)
            key.touch(mode=0o600)
            key.write_bytes(key_pem)
    return chain.read_bytes(), key.read_bytes()


def trust_anchor() -> bytes | None:
    """Our own CA certificate, for readers that should report our manifests as trusted."""
    ca = Path(settings.VAR_DIR) / "c2pa" / "ca.pem"
    return ca.read_bytes() if ca.exists() else None
