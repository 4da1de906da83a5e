"""X.509 material for "bring your own CA" device certificates (and the local stack's CA).

AWS IoT can issue a certificate itself (CreateKeysAndCertificate, signed by Amazon's CA) or
accept one signed by a CA you registered (RegisterCACertificate + RegisterCertificate). The
second mode needs a CA key pair, which this module creates and uses. Keys are EC P-256: small,
fast to generate, and accepted by IoT Core and the device SDK.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def load_key(pem: str | bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def certificate_id(pem_or_der: str | bytes) -> str:
    """AWS IoT's certificate id: the SHA-256 of the DER encoding (what principal() returns)."""
    if isinstance(pem_or_der, str) or pem_or_der.startswith(b"-----"):
        data = pem_or_der.encode() if isinstance(pem_or_der, str) else pem_or_der
        der = x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    else:
        der = pem_or_der
    return hashlib.sha256(der).hexdigest()


def der_to_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name: str, days: int = 3650) -> tuple[str, str]:
    """A self-signed CA: (certificate PEM, private key PEM)."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)


class CertificateAuthority:
    """Signs device (client) and server certificates with a CA key pair held in memory."""

    def __init__(self, cert_pem: str, key_pem: str) -> None:
        self.cert_pem = cert_pem
        self.cert = x509.load_pem_x509_certificate(cert_pem.encode())
        self.key = load_key(key_pem)

    def _builder(self, subject: str, public_key, days: int) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(self.cert.subject).public_key(public_key)
            # 64 random bits keep serials unique without any state.
            .serial_number(int.from_bytes(secrets.token_bytes(8), "big") | 1)
            .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )

    def issue_client(self, common_name: str, days: int = 365) -> tuple[str, str]:
        """A device certificate and its new private key: (certificate PEM, key PEM)."""
        key = new_key()
        cert = (
            self._builder(common_name, key.public_key(), days)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)

    def issue_server(self, hostnames: list[str], days: int = 825) -> tuple[str, str]:
        key = new_key()
        names: list[x509.GeneralName] = []
        for host in hostnames:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (
            self._builder(hostnames[0], key.public_key(), days)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)
