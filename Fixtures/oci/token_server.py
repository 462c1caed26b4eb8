#!/usr/bin/env python3
"""A registry token server (the distribution token protocol) for the OCI tests, on 127.0.0.1.

Issues ES256 JWTs that the CNCF distribution registry accepts when configured with
  auth: {token: {realm: http://127.0.0.1:PORT/token, service: SERVICE, issuer: ISSUER, rootcertbundle: CERT}}
The signing key's self-signed certificate is written to CERT and rides in each token's x5c header, so the
registry verifies the chain against its rootcertbundle.

Usage: token_server.py CONFIG.json
CONFIG: {"cert_out": path, "issuer": str,
         "users": {"alice": {"password": "...", "actions": ["pull", "push", "delete"],
                             "repositories": {"team/base": []}}},   per-repository actions, else "actions"
         "refresh_tokens": {"<token>": "alice"},      identity tokens for the OAuth2 refresh_token POST
         "anonymous": ["pull"],                       what an anonymous request is granted ([] refuses it)
         "expires_in": 300 or null (omitted from the answer), "field": "token" | "access_token" | "both"}
Prints its port on stdout once listening. Routes:
  GET  /token?service=S&scope=repository:NAME:ACTIONS[&scope=…]   Basic credentials or anonymous
  POST /token   grant_type=refresh_token&refresh_token=…&service=…&scope=…  (or grant_type=password)
  GET  /token-500     answers 500
  GET  /token-empty   answers 200 {} (no token)
  GET  /token-echo    answers 401 quoting the Authorization header it got (a server that leaks)
  GET  /token-elsewhere  answers 307 to the same query on http://localhost:PORT/token (another origin)
  GET  /log           JSON list of {method, path, service, scopes, user, grant_type, authorized}
Granted actions are the requested ones the user has; a user with wrong credentials gets 401.
"""
import base64
import datetime
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CONFIG = json.load(open(sys.argv[1]))
LOCK = threading.Lock()
LOG = []


def make_key_and_cert(path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "model-sync test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


KEY, CERT_B64 = make_key_and_cert(CONFIG["cert_out"])


def granted(user, scopes):
    """The access claim: each repository scope cut down to the actions the user (or anonymous) has there."""
    entry = None if user is None else CONFIG["users"][user]
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) < 3 or parts[0] != "repository":
            continue
        name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
        if entry is None:
            allowed = CONFIG.get("anonymous", [])
        else:
            allowed = entry.get("repositories", {}).get(name, entry.get("actions", []))
        access.append({"type": "repository", "name": name, "actions": [a for a in actions if a in allowed]})
    return access


def issue(user, service, scopes):
    now = int(time.time())
    expires_in = CONFIG.get("expires_in", 300)
    claims = {"iss": CONFIG["issuer"], "sub": user or "", "aud": service, "iat": now, "nbf": now - 10,
              "exp": now + (expires_in or 60), "jti": uuid.uuid4().hex, "access": granted(user, scopes)}
    token = jwt.encode(claims, KEY, algorithm="ES256", headers={"x5c": [CERT_B64]})
    answer = {}
    field = CONFIG.get("field", "token")
    if field in ("token", "both"):
        answer["token"] = token
    if field in ("access_token", "both"):
        answer["access_token"] = token
    if expires_in is not None:
        answer["expires_in"] = expires_in
    answer["issued_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return answer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, code, payload, headers=()):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def basic_user(self):
        """(user, ok): None when no Basic header; ok False when the password is wrong."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None, True
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return None, False
        entry = CONFIG.get("users", {}).get(user)
        return user, entry is not None and entry.get("password") == password

    def record(self, path, query, user, authorized):
        with LOCK:
            LOG.append({"method": self.command, "path": path, "service": query.get("service", [None])[0],
                        "scopes": query.get("scope", []), "user": user, "authorized": authorized,
                        "grant_type": query.get("grant_type", [None])[0],
                        "has_authorization": "Authorization" in self.headers})

    def do_GET(self):
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        if parsed.path == "/log":
            with LOCK:
                self.reply(200, list(LOG))
            return
        if parsed.path == "/token-echo":
            self.record(parsed.path, query, None, False)
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                         "message": "bad credentials: " + self.headers.get("Authorization", "")}]})
            return
        if parsed.path == "/token-elsewhere":
            self.record(parsed.path, query, None, "Authorization" in self.headers)
            target = "http://localhost:%d/token?%s" % (self.server.server_address[1], parsed.query)
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parsed.path == "/token-500":
            self.record(parsed.path, query, None, False)
            self.reply(500, {"errors": [{"code": "UNKNOWN", "message": "token service down"}]})
            return
        if parsed.path == "/token-empty":
            self.record(parsed.path, query, None, False)
            self.reply(200, {})
            return
        if parsed.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such route"}]})
            return
        user, ok = self.basic_user()
        self.record(parsed.path, query, user, ok)
        if not ok:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication failed"}]},
                       [("WWW-Authenticate", 'Basic realm="token"')])
            return
        if user is None and not CONFIG.get("anonymous"):
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                       [("WWW-Authenticate", 'Basic realm="token"')])
            return
        self.reply(200, issue(user, query.get("service", [""])[0], query.get("scope", [])))

    def do_POST(self):
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        grant = form.get("grant_type", [""])[0]
        user = None
        if grant == "refresh_token":
            user = CONFIG.get("refresh_tokens", {}).get(form.get("refresh_token", [""])[0])
        elif grant == "password":
            name = form.get("username", [""])[0]
            entry = CONFIG.get("users", {}).get(name)
            user = name if entry and entry.get("password") == form.get("password", [""])[0] else None
        self.record(parsed.path, form, user, user is not None)
        if parsed.path != "/token" or user is None:
            self.reply(401, {"error": "invalid_grant", "error_description": "the grant was refused"})
            return
        scopes = " ".join(form.get("scope", [])).split()
        answer = issue(user, form.get("service", [""])[0], scopes)
        answer.setdefault("access_token", answer.get("token"))
        self.reply(200, answer)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
