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
       "retry_after": s, "delay_ms": ms, "reset_stats": true}
"""

import argparse
import datetime
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
}


class State:
    def __init__(self, config, directory):
        self.lock = threading.Lock()
        self.config = config
        self.key = pki.load_private_key(os.path.join(directory, "signing.key"))
        self.apps = {}
        for app in config["apps"]:
            with open(app["secret_file"]) as f:
                app = dict(app, secret=f.read().strip())
            self.apps[app["client_id"]] = app
        self.lifetime = int(config["token_lifetime"])
        self.fail_next = 0
        self.fail_status = 503
        self.retry_after = 60
        self.delay_ms = 0
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"token_requests": 0, "tokens_issued": 0, "errors": 0,
                      "injected_failures": 0, "by_client": {}, "last_scope": None}


def _error_body(kind, **fields):
    status, error, code, text = ERRORS[kind]
    now = datetime.datetime.now(datetime.timezone.utc)
    trace = str(uuid.uuid4())
    corr = str(uuid.uuid4())
    description = "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
        code, text.format(**fields), trace, corr, now.strftime("%Y-%m-%d %H:%M:%SZ"))
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
        if delay:
            time.sleep(delay / 1000.0)
        if inject:
            self._injected(fail_status, retry_after)
            return
        status, payload = self._grant(tenant, form, lifetime)
        with st.lock:
            st.stats["tokens_issued" if status == 200 else "errors"] += 1
        self._send(status, payload)

    def _injected(self, status, retry_after):
        if status == 429:
            # Entra's throttling answer may be plain text, not JSON.
            self._send(429, b"Too Many Requests", {"Retry-After": str(retry_after)})
            return
        _, payload = _error_body("transient")
        self._send(status, payload)

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
        secret = form.get("client_secret")
        if secret is None or secret == "":
            return _error_body("no_secret")
        if secret != app["secret"]:
            return _error_body("bad_secret", client_id=cid)
        claims = jwt_mint.app_claims(cfg["tenant_id"], app, resource, lifetime)
        token = jwt_mint.sign(claims, st.key, cfg["kid"])
        return 200, {"token_type": "Bearer", "expires_in": lifetime,
                     "ext_expires_in": lifetime, "access_token": token}


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
