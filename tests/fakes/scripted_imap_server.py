#!/usr/bin/env python3
"""A scripted, misbehaving IMAP server for fault tests (never for anything else).

Serves one mailbox with one folder (INBOX, three messages) over implicit TLS on
127.0.0.1, using the test bed's certificate. It accepts any XOAUTH2 login that
names a user. On the FIRST connection that fetches message bodies it
misbehaves as --scenario says; later connections behave, so a test can check
that the next run completes the archive.

Every command received is appended to <dir>/transcript.log with a timestamp.

  --scenario: normal | throttle | bye_mid_literal | omit_uid | expunge_during_fetch
              | huge_literal | garbage_line | binary_garbage
              | throttle_user01 (only user01's first body fetch is throttled)
              | throttle_all (every user's first body fetch is throttled, 300 ms)
              | not_connected (every login succeeds, then the first command is answered
                "BAD User is authenticated but not connected." and "* BYE", as Exchange
                Online does when the app lacks FullAccess or IMAP is disabled)
"""
import argparse
import base64
import os
import re
import socket
import ssl
import sys
import threading
import time

MESSAGES = {uid: ("Subject: scripted message %d\r\nFrom: a@b.test\r\n\r\n" % uid
                  + ("line %d of message %d\r\n" % (0, uid)) * (40 * uid)).encode()
            for uid in (1, 2, 3)}
UIDVALIDITY = 42
CAPS = "IMAP4rev1 SASL-IR AUTH=XOAUTH2 LITERAL+ UIDPLUS"


class State:
    def __init__(self, scenario, transcript):
        self.scenario = scenario
        self.transcript = transcript
        self.misbehaved_for = set()
        self.expunged = set()
        self.lock = threading.Lock()

    def log(self, line):
        with self.lock, open(self.transcript, "a") as f:
            f.write("%.3f %s\n" % (time.time(), line))

    def take_misbehaviour(self, user):
        """True exactly once (per user for throttle_all): the first body fetch
        that the scenario targets."""
        with self.lock:
            if self.scenario == "normal":
                return False
            if self.scenario == "throttle_user01" and not user.startswith("user01@"):
                return False
            key = user if self.scenario == "throttle_all" else "*"
            if key in self.misbehaved_for:
                return False
            self.misbehaved_for.add(key)
            return True


def fetch_item(seq, uid, body):
    return (b'* %d FETCH (UID %d INTERNALDATE "01-Jan-2024 10:00:00 +0000" FLAGS (\\Seen) BODY[] {%d}\r\n'
            % (seq, uid, len(body)) + body + b")\r\n")


def uid_set(text):
    out = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            hi = 2 ** 32 - 1 if hi == "*" else int(hi)
            out.extend(u for u in MESSAGES if int(lo) <= u <= hi)
        else:
            out.append(int(part))
    return out


def serve(conn, state):
    f = conn.makefile("rwb", buffering=0)
    login = "?"
    logged_in = False

    def send(data):
        conn.sendall(data if isinstance(data, bytes) else data.encode())

    send("* OK [CAPABILITY %s] scripted server ready\r\n" % CAPS)
    while True:
        line = f.readline()
        if not line:
            return
        text = line.decode("latin-1").rstrip("\r\n")
        parts = text.split(" ", 2)
        tag = parts[0]
        cmd = parts[1].upper() if len(parts) > 1 else ""
        if cmd == "AUTHENTICATE":
            payload = base64.b64decode(text.split(" ")[3]).decode("latin-1")
            user = re.search(r"user=([^\x01]*)", payload)
            login = user.group(1) if user else "?"
            state.log("%s AUTHENTICATE XOAUTH2 user=%s" % (tag, login))
            send("%s OK [CAPABILITY %s] authenticated\r\n" % (tag, CAPS))
            logged_in = True
            continue
        state.log(text)
        if state.scenario == "not_connected" and logged_in:
            send("%s BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n" % tag)
            return
        live = [u for u in sorted(MESSAGES) if u not in state.expunged]
        if cmd == "CAPABILITY":
            send("* CAPABILITY %s\r\n%s OK done\r\n" % (CAPS, tag))
        elif cmd == "LIST":
            send('* LIST (\\HasNoChildren) "/" INBOX\r\n%s OK LIST done\r\n' % tag)
        elif cmd == "EXAMINE":
            send("* %d EXISTS\r\n* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT 4] ok\r\n%s OK [READ-ONLY] done\r\n"
                 % (len(live), UIDVALIDITY, tag))
        elif cmd == "LOGOUT":
            send("* BYE bye\r\n%s OK LOGOUT done\r\n" % tag)
            return
        elif cmd == "UID" and "RFC822.SIZE" in text:
            start = int(re.search(r"FETCH (\d+):\*", text).group(1))
            out = b""
            for seq, uid in enumerate(live, 1):
                if uid >= start:
                    out += b"* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (seq, uid, len(MESSAGES[uid]))
            send(out + ("%s OK FETCH done\r\n" % tag).encode())
        elif cmd == "UID" and "BODY.PEEK[]" in text:
            uids = [u for u in uid_set(text.split(" ")[3]) if u in live]
            if not fetch_bodies(send, tag, uids, live, state, login):
                return
        else:
            send("%s BAD Command Argument Error. 11\r\n" % tag)


def fetch_bodies(send, tag, uids, live, state, login):
    """Returns False when the connection must end."""
    scenario = state.scenario if state.take_misbehaviour(login) else "normal"
    seq = {u: i for i, u in enumerate(live, 1)}
    if scenario in ("throttle", "throttle_user01"):
        send("%s NO Request is throttled. Suggested Backoff Time: 1200 milliseconds\r\n" % tag)
        return True
    if scenario == "throttle_all":
        send("%s NO Request is throttled. Suggested Backoff Time: 300 milliseconds\r\n" % tag)
        return True
    if scenario == "huge_literal":
        send(b"* 1 FETCH (UID 1 BODY[] {99999999999}\r\nxxxx")
        return False
    if scenario == "garbage_line":
        send("Server Unavailable. 15\r\n")
        return False
    if scenario == "binary_garbage":
        send(bytes(range(256)) * 4)
        return False
    out = b""
    for u in uids:
        body = MESSAGES[u]
        if scenario == "bye_mid_literal" and u == uids[-1]:
            send(out + b'* %d FETCH (UID %d BODY[] {%d}\r\n' % (seq[u], u, len(body)) + body[:50])
            send(b"\r\n* BYE Connection closed. 14\r\n")
            return False
        if scenario == "omit_uid" and u == 2:
            continue
        if scenario == "expunge_during_fetch" and u == 2:
            state.expunged.add(2)
            out += b"* 2 EXPUNGE\r\n"
            continue
        out += fetch_item(seq[u], u, body)
    send(out + ("%s OK FETCH completed.\r\n" % tag).encode())
    return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bed", required=True, help="test bed dir (server.pem, server.key)")
    p.add_argument("--dir", required=True, help="where to write port and transcript.log")
    p.add_argument("--scenario", default="normal")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.bed, "server.pem"), os.path.join(args.bed, "server.key"))
    state = State(args.scenario, os.path.join(args.dir, "transcript.log"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port_file = os.path.join(args.dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        raw, _ = listener.accept()

        def handle(raw=raw):
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    serve(conn, state)
            except (OSError, ssl.SSLError, ValueError):
                pass
        threading.Thread(target=handle, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
