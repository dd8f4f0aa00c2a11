"""Throw-away PKI for the test bed: a CA, a localhost server certificate and
the RSA key that signs access tokens. Nothing here is meant to be secure; it
only has to look like the real thing to TLS and JWT verifiers."""

import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _new_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def make_pki(directory):
    """Writes ca.pem, server.pem, server.key, signing.key and returns the
    signing key id (kid)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=1)
    end = now + datetime.timedelta(days=30)

    ca_key = _new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailark test bed CA")])
    ca_cert = (x509.CertificateBuilder()
               .subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                            crl_sign=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))

    server_key = _new_key()
    # mbsync ignores IP SANs, so localhost and 127.0.0.1 both appear as DNS names too.
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.DNSName("127.0.0.1"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ])
    server_cert = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                   .issuer_name(ca_name)
                   .public_key(server_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(san, critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))

    _write(os.path.join(directory, "ca.pem"), ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(os.path.join(directory, "server.pem"),
           server_cert.public_bytes(serialization.Encoding.PEM))
    _write(os.path.join(directory, "server.key"), _key_pem(server_key), 0o600)

    signing_key = _new_key()
    _write(os.path.join(directory, "signing.key"), _key_pem(signing_key), 0o600)
    public_der = signing_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # Entra kids are short base64url strings; a hex digest avoids the
    # characters ('.', '/', '%') that dovecot escapes in key paths.
    kid = hashlib.sha1(public_der).hexdigest()[:27]
    keydir = os.path.join(directory, "keys", "default", "RS256")
    os.makedirs(keydir, exist_ok=True)
    for d in (os.path.join(directory, "keys"), os.path.join(directory, "keys", "default"), keydir):
        os.chmod(d, 0o755)
    _write(os.path.join(keydir, kid), signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return kid


def make_untrusted_server_cert(directory):
    """Writes untrusted.pem/untrusted.key: a self-signed localhost certificate
    that chains to nothing in ca.pem, for "server not trusted" tests."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    _write(os.path.join(directory, "untrusted.pem"), cert.public_bytes(serialization.Encoding.PEM))
    _write(os.path.join(directory, "untrusted.key"), _key_pem(key), 0o600)


def load_private_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def new_unrelated_key():
    """A key dovecot does not know: signs the --bad-signature tokens."""
    return _new_key()


def make_client_certificate(directory, name):
    """Writes <name>.pem (a self-signed certificate, as an admin uploads to
    an app registration), <name>.key (its private key, 0600) and
    <name>-wrong.key (an unrelated key, 0600, for "wrong key" tests) with
    <name>-wrong.pem (a certificate for that key, not registered).
    Returns (cert_path, key_path, wrong_key_path)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailark test bed app " + name)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, name + ".pem")
    key_path = os.path.join(directory, name + ".key")
    wrong_path = os.path.join(directory, name + "-wrong.key")
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _key_pem(key), 0o600)
    wrong_key = _new_key()
    _write(wrong_path, _key_pem(wrong_key), 0o600)
    # A certificate for the wrong key: a consistent pair that the app
    # registration does not know (Entra answers AADSTS700027).
    wrong_cert = (x509.CertificateBuilder()
                  .subject_name(subject).issuer_name(subject)
                  .public_key(wrong_key.public_key())
                  .serial_number(x509.random_serial_number())
                  .not_valid_before(now - datetime.timedelta(days=1))
                  .not_valid_after(now + datetime.timedelta(days=30))
                  .sign(wrong_key, hashes.SHA256()))
    _write(os.path.join(directory, name + "-wrong.pem"),
           wrong_cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, wrong_path


def load_certificate(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())
