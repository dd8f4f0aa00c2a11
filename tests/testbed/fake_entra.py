#!/usr/bin/python3
"""A fake Microsoft identity platform token endpoint (client credentials only).

Run by testbed.py: `fake_entra.py --dir DIR`. Reads DIR/entra.json, binds an
ephemeral port on 127.0.0.1, writes DIR/entra.port once it accepts, and serves
HTTPS with the test bed's certificate.

Endpoints:
  POST /{tenant}/oauth2/v2.0/token   Microsoft's client-credentials grant
  GET  /_stats                       counters for tests
  POST /_config                      change behaviour at run time (JSON):
      {"token_lifetime": s, "fail_next": n, "fail_status": 429|500|503,
       "fail_code": AADSTS code (the next fail_next requests get that error),
       "retry_after": s, "delay_ms": ms, "reset_stats": true}

Apps registered with a certificate (entra.json "certificate_file") must
authenticate with a client assertion (RFC 7523 JWT) instead of a secret; the
assertion's signature, thumbprint header, aud, iss/sub, nbf/exp and jti are
checked the way Entra does.
"""

import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jwt_mint  # noqa: E402
import pki  # noqa: E402

RESOURCES = ("https://outlook.office365.com", "https://ps.outlook.com")

# (http status, error, AADSTS code, description) as Entra words them.
ERRORS = {
    "bad_secret": (401, "invalid_client", 7000215,
                   "Invalid client secret provided. Ensure the secret being sent in the "
                   "request is the client secret value, not the client secret ID, for a "
                   "secret added to app '{client_id}'."),
    "no_secret": (401, "invalid_client", 7000218,
                  "The request body must contain the following parameter: "
                  "'client_assertion' or 'client_secret'."),
    "unknown_app": (400, "unauthorized_client", 700016,
                    "Application with identifier '{client_id}' was not found in the directory "
                    "'{tenant}'. This can happen if the application has not been installed by "
                    "the administrator of the tenant or consented to by any user in the tenant. "
                    "You may have sent your authentication request to the wrong tenant."),
    "unknown_tenant": (400, "invalid_request", 90002,
                       "Tenant '{tenant}' not found. Check to make sure you have the correct "
                       "tenant ID and are signing into the correct cloud. Check with your "
                       "subscription administrator, this may happen if there are no active "
                       "subscriptions for the tenant."),
    "bad_scope": (400, "invalid_scope", 70011,
                  "The provided request must include a 'scope' input parameter. The provided "
                  "value for the input parameter 'scope' is not valid. The scope {scope} is "
                  "not valid."),
    "bad_grant": (400, "unsupported_grant_type", 70003,
                  "The app requested an unsupported grant type '{grant_type}'."),
    "common_tenant": (400, "invalid_request", 9001023,
                      "The grant type 'client_credentials' is not supported over the /common "
                      "or /consumers endpoints. Please use the /organizations or "
                      "tenant-specific endpoint."),
    "transient": (503, "temporarily_unavailable", 50033,
                  "A transient error has occurred. Please try again."),
    "no_client_id": (400, "invalid_request", 900144,
                     "The request body must contain the following parameter: 'client_id'."),
    "bad_assertion_signature": (401, "invalid_client", 700027,
                                "Client assertion failed signature validation. {reason}"),
    "bad_assertion": (401, "invalid_client", 50027,
                      "JWT token is invalid or malformed. {reason}"),
    "assertion_time": (401, "invalid_client", 700024,
                       "Client assertion is not within its valid time range. {reason}"),
}

# Injected configuration failures (POST /_config fail_code): how Entra answers
# each code. Descriptions are shortened; clients must not parse them anyway.
CODE_ERRORS = {
    7000215: (401, "invalid_client", "Invalid client secret provided."),
    7000222: (401, "invalid_client", "The provided client secret keys for app are expired."),
    700016: (400, "unauthorized_client", "Application was not found in the directory."),
    90002: (400, "invalid_request", "Tenant not found."),
    500011: (400, "invalid_resource", "The resource principal named https://outlook.office365.com "
                                      "was not found in the tenant."),
    65001: (400, "invalid_grant", "The user or administrator has not consented to use the "
                                  "application."),
    700027: (401, "invalid_client", "Client assertion failed signature validation."),
    7000112: (400, "unauthorized_client", "Application is disabled."),
    70011: (400, "invalid_scope", "The provided value for the input parameter 'scope' is not "
                                  "valid."),
    700022: (400, "invalid_scope", "The provided value for the input parameter scope is not "
                                   "valid because it contains more than one resource."),
    7000218: (401, "invalid_client", "The request body must contain the following parameter: "
                                     "'client_assertion' or 'client_secret'."),
}

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class State:
    def __init__(self, config, directory):
        self.lock = threading.Lock()
        self.config = config
        self.key = pki.load_private_key(os.path.join(directory, "signing.key"))
        self.apps = {}
        for app in config["apps"]:
            if app.get("secret_file"):
                with open(app["secret_file"]) as f:
                    app = dict(app, secret=f.read().strip())
            if app.get("certificate_file"):
                app = dict(app, certificate=pki.load_certificate(app["certificate_file"]))
            self.apps[app["client_id"]] = app
        self.seen_jti = set()
        self.lifetime = int(config["token_lifetime"])
        self.fail_next = 0
        self.fail_status = 503
        self.fail_code = 0
        self.retry_after = 60
        self.delay_ms = 0
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"token_requests": 0, "tokens_issued": 0, "errors": 0,
                      "injected_failures": 0, "by_client": {}, "last_scope": None,
                      # one [unix time, client_id, http status] per token request
                      "requests": [], "assertions_verified": 0}


def _error_body(kind, **fields):
    status, error, code, text = ERRORS[kind]
    return _error_payload(status, error, code, text.format(**fields))


def _code_error_body(code):
    status, error, text = CODE_ERRORS.get(code, (400, "invalid_request", "Injected failure."))
    return _error_payload(status, error, code, text)


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _error_payload(status, error, code, text):
    now = datetime.datetime.now(datetime.timezone.utc)
    trace = str(uuid.uuid4())
    corr = str(uuid.uuid4())
    description = "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
        code, text, trace, corr, now.strftime("%Y-%m-%d %H:%M:%SZ"))
    return status, {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-entra"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep stderr quiet; tokens never logged
        pass

    def _send(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(body, bytes) else "application/json; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, no-cache")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        st = self.server.state
        if self.path == "/_stats":
            with st.lock:
                self._send(200, dict(st.stats, token_lifetime=st.lifetime))
            return
        self._send(404, {"error": "not_found"})

    def do_POST(self):
        st = self.server.state
        body = self._body()
        if self.path == "/_config":
            try:
                cfg = json.loads(body or b"{}")
            except ValueError:
                self._send(400, {"error": "bad json"})
                return
            with st.lock:
                if "token_lifetime" in cfg:
                    st.lifetime = int(cfg["token_lifetime"])
                if "fail_next" in cfg:
                    st.fail_next = int(cfg["fail_next"])
                if "fail_status" in cfg:
                    st.fail_status = int(cfg["fail_status"])
                if "fail_code" in cfg:
                    st.fail_code = int(cfg["fail_code"])
                if "retry_after" in cfg:
                    st.retry_after = int(cfg["retry_after"])
                if "delay_ms" in cfg:
                    st.delay_ms = int(cfg["delay_ms"])
                if cfg.get("reset_stats"):
                    st.reset_stats()
            self._send(200, {"ok": True})
            return
        parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            self._send(404, {"error": "not_found"})
            return
        self._token(parts[0], body)

    def _token(self, tenant, body):
        st = self.server.state
        form = {k: v[0] for k, v in urllib.parse.parse_qs(
            body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        with st.lock:
            st.stats["token_requests"] += 1
            cid = form.get("client_id", "")
            st.stats["by_client"][cid] = st.stats["by_client"].get(cid, 0) + 1
            st.stats["last_scope"] = form.get("scope")
            delay = st.delay_ms
            inject = st.fail_next > 0
            if inject:
                st.fail_next -= 1
                st.stats["injected_failures"] += 1
            fail_status, retry_after, lifetime = st.fail_status, st.retry_after, st.lifetime
            fail_code = st.fail_code
            entry = [time.time(), cid, 0]
            st.stats["requests"].append(entry)
        if delay:
            time.sleep(delay / 1000.0)
        if inject:
            entry[2] = self._injected(fail_status, retry_after, fail_code)
            return
        status, payload = self._grant(tenant, form, lifetime)
        with st.lock:
            st.stats["tokens_issued" if status == 200 else "errors"] += 1
            entry[2] = status
        self._send(status, payload)

    def _injected(self, status, retry_after, code=0):
        if code:
            status, payload = _code_error_body(code)
            self._send(status, payload)
            return status
        if status == 429:
            # Entra's throttling answer may be plain text, not JSON.
            self._send(429, b"Too Many Requests", {"Retry-After": str(retry_after)})
            return 429
        _, payload = _error_body("transient")
        self._send(status, payload)
        return status

    def _grant(self, tenant, form, lifetime):
        st = self.server.state
        cfg = st.config
        if tenant in ("common", "consumers"):
            return _error_body("common_tenant")
        if tenant not in (cfg["tenant_id"], cfg["tenant"]):
            return _error_body("unknown_tenant", tenant=tenant)
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return _error_body("bad_grant", grant_type=grant)
        cid = form.get("client_id", "")
        if not cid:
            return _error_body("no_client_id")
        app = st.apps.get(cid)
        if app is None:
            return _error_body("unknown_app", client_id=cid, tenant=tenant)
        scope = form.get("scope", "")
        resource = scope[:-len("/.default")] if scope.endswith("/.default") else None
        if resource not in RESOURCES:
            return _error_body("bad_scope", scope=scope)
        if "certificate" in app:
            failure = self._check_assertion(tenant, form, app)
            if failure:
                return failure
        else:
            secret = form.get("client_secret")
            if secret is None or secret == "":
                return _error_body("no_secret")
            if secret != app["secret"]:
                return _error_body("bad_secret", client_id=cid)
        claims = jwt_mint.app_claims(cfg["tenant_id"], app, resource, lifetime)
        token = jwt_mint.sign(claims, st.key, cfg["kid"])
        return 200, {"token_type": "Bearer", "expires_in": lifetime,
                     "ext_expires_in": lifetime, "access_token": token}


    def _check_assertion(self, tenant, form, app):
        """None when the client assertion is valid for `app`, else the error."""
        if form.get("client_secret"):
            return _error_body("bad_assertion", reason="This app authenticates with a "
                                                       "certificate, not a secret.")
        assertion = form.get("client_assertion", "")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return _error_body("no_secret")
        parts = assertion.split(".")
        if len(parts) != 3:
            return _error_body("bad_assertion", reason="Not a JWS compact serialization.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except ValueError:
            return _error_body("bad_assertion", reason="Header or payload is not base64url JSON.")
        cert = app["certificate"]
        der = cert.public_bytes(serialization.Encoding.DER)
        alg = header.get("alg")
        if alg == "PS256":
            if header.get("x5t#S256") != _b64url(hashlib.sha256(der).digest()):
                return _error_body("bad_assertion_signature",
                                   reason="x5t#S256 does not name a registered certificate.")
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        elif alg == "RS256":
            if header.get("x5t") != _b64url(hashlib.sha1(der).digest()):
                return _error_body("bad_assertion_signature",
                                   reason="x5t does not name a registered certificate.")
            pad = padding.PKCS1v15()
        else:
            return _error_body("bad_assertion", reason="Unsupported alg %r." % alg)
        try:
            cert.public_key().verify(signature, (parts[0] + "." + parts[1]).encode("ascii"),
                                     pad, hashes.SHA256())
        except InvalidSignature:
            return _error_body("bad_assertion_signature", reason="Signature does not verify.")
        host = self.headers.get("Host", "")
        expected_aud = "https://%s/%s/oauth2/v2.0/token" % (host, tenant)
        if claims.get("aud") != expected_aud:
            return _error_body("bad_assertion", reason="aud must be %s." % expected_aud)
        if claims.get("iss") != app["client_id"] or claims.get("sub") != app["client_id"]:
            return _error_body("bad_assertion", reason="iss and sub must be the client id.")
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int) or not isinstance(nbf, int):
            return _error_body("bad_assertion", reason="exp and nbf must be numbers.")
        if exp <= now or nbf > now + 60 or exp - nbf > 600:
            return _error_body("assertion_time", reason="exp %d nbf %d now %d." % (exp, nbf, now))
        jti = claims.get("jti")
        with self.server.state.lock:
            if not isinstance(jti, str) or not jti or jti in self.server.state.seen_jti:
                return _error_body("bad_assertion", reason="jti missing or replayed.")
            self.server.state.seen_jti.add(jti)
            self.server.state.stats["assertions_verified"] += 1
        return None


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, state, context):
        self.state = state
        self.context = context
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the worker thread so one slow client
        # cannot stall accept().
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    directory = os.path.abspath(args.dir)
    with open(os.path.join(directory, "entra.json")) as f:
        config = json.load(f)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "server.pem"),
                            os.path.join(directory, "server.key"))
    server = Server(State(config, directory), context)
    port_file = os.path.join(directory, "entra.port")
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
