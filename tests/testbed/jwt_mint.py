"""Minimal RS256 JWT minting in the shape of Entra ID v1 app-only tokens."""

import base64
import json
import time
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(claims, key, kid):
    header = {"typ": "JWT", "alg": "RS256", "x5t": kid, "kid": kid}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def app_claims(tenant_id, app, audience, lifetime, now=None):
    """Claims as Entra issues them for client credentials (v1 token format):
    no azp, no scp, idtyp=app, and roles only when the app has been granted
    some (Entra omits an empty roles claim)."""
    now = int(time.time()) if now is None else int(now)
    issuer = "https://sts.windows.net/%s/" % tenant_id
    claims = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + int(lifetime),
        "app_displayname": app["name"],
        "appid": app["client_id"],
        "appidacr": "1",
        "idp": issuer,
        "idtyp": "app",
        "oid": app["object_id"],
        "sub": app["object_id"],
        "tid": tenant_id,
        "uti": b64url(uuid.uuid4().bytes)[:22],
        "ver": "1.0",
    }
    if app["roles"]:
        claims["roles"] = list(app["roles"])
    return claims
