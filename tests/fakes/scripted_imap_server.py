#!/usr/bin/env python3
"""A scripted, misbehaving IMAP server for fault tests (never for anything else).

Serves one mailbox with one folder (INBOX, --messages messages, three by
default) over implicit TLS on 127.0.0.1, using the test bed's certificate. It
accepts any XOAUTH2 login that names a user. On the FIRST connection that
fetches message bodies it misbehaves as --scenario says; later connections
behave, so a test can check that the next run completes the archive.

Every command received is appended to <dir>/transcript.log, one line each:

  <unix time> conn=<N> user=<login or -> <command as received>

plus `CONNECT` (TCP accepted), `DISCONNECT` (connection over, for any reason),
`KICK` (token_expiry ended the session) and `CUT uid=U sent=B of=S`
(resume_big closed the connection inside U's literal) lines in the same
format. Connection ids count from 1 in accept order. A connection belongs to
its user from its AUTHENTICATE line to its DISCONNECT line.

  --scenario: normal | throttle | bye_mid_literal | omit_uid | expunge_during_fetch
              | huge_literal | garbage_line | binary_garbage
              | throttle_user01 (only user01's first body fetch is throttled)
              | throttle_all (every user's first body fetch is throttled, 300 ms)
              | throttle_examine (the first EXAMINE is throttled, 300 ms; commands sent
                behind it are answered meanwhile, as a server may)
              | not_connected (every login succeeds, then the first command is answered
                "BAD User is authenticated but not connected." and "* BYE", as Exchange
                Online does when the app lacks FullAccess or IMAP is disabled)
              | resume_big (INBOX also holds one big message, UID messages+1, of
                --big-bytes bytes; the first whole BODY[] fetch of it sends the literal
                header with the full size, 40 % of the bytes (or --cut-bytes), then closes the TCP
                connection without BYE. Partial fetches BODY.PEEK[]<o.l> are served.)
              | token_expiry (as Exchange Online: a command that arrives at or after the
                `exp` of the bearer token the connection logged in with is answered
                "* BYE Session invalidated - AccessTokenExpired" and the connection closed)
  --messages N       INBOX holds UIDs 1..N (deterministic bodies; 1..3 are today's set)
  --big-bytes B      size of resume_big's big message (default 6 MiB)
  --cut-bytes C      resume_big cuts after C bytes of the big literal (default 40 % of it)
  --cut-piece O      resume_big: the first partial fetch of the big message from byte O
                     sends its literal header, 40 % of the piece, then closes the connection
  --fetch-delay-ms D sleep D ms before answering each body UID FETCH
  --list-delay-ms D  sleep D ms before answering LIST
  --dump-message UID write that message's bytes to stdout and exit (no server)
  --dump-sha256 UID  write the hex SHA-256 of that message's bytes and exit (no server)

Partial fetches (BODY.PEEK[]<o.l>) of any UID are answered in every scenario
with BODY[]<o> and the slice [o, o+l) clipped to the message end.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

UIDVALIDITY = 42
CAPS = "IMAP4rev1 SASL-IR AUTH=XOAUTH2 LITERAL+ UIDPLUS"
INTERNALDATE = "01-Jan-2024 10:00:00 +0000"

MESSAGES = {}  # uid -> bytes, filled by build_messages()


def small_message(uid):
    """UIDs 1..3 keep the bytes the fault tests have always seen; later UIDs
    stay small so a folder of thousands is cheap."""
    head = "Subject: scripted message %d\r\nFrom: a@b.test\r\n\r\n" % uid
    if uid <= 3:
        return (head + ("line %d of message %d\r\n" % (0, uid)) * (40 * uid)).encode()
    return (head + "".join("line %d of message %d\r\n" % (i, uid) for i in range(5 + uid % 17))).encode()


def big_message(uid, size):
    """Exactly `size` bytes of CRLF lines, each one different."""
    head = ("Subject: big scripted message %d\r\nFrom: a@b.test\r\n\r\n" % uid).encode()
    lines = []
    total = len(head)
    n = 0
    while total < size:
        line = b"big line %08d of message %d abcdefghijklmnopqrstuvwxyz0123456789\r\n" % (n, uid)
        lines.append(line)
        total += len(line)
        n += 1
    body = head + b"".join(lines)
    if len(body) > size:
        # Shorten the last line so the message still ends in CRLF.
        body = body[:size - 2] + b"\r\n" if size >= len(head) + 2 else body[:size]
    return body


def build_messages(args):
    MESSAGES.clear()
    for uid in range(1, args.messages + 1):
        MESSAGES[uid] = small_message(uid)
    if args.scenario == "resume_big":
        MESSAGES[args.messages + 1] = big_message(args.messages + 1, args.big_bytes)


class State:
    def __init__(self, args, transcript):
        self.scenario = args.scenario
        self.fetch_delay = args.fetch_delay_ms / 1000.0
        self.list_delay = args.list_delay_ms / 1000.0
        self.big_uid = args.messages + 1 if args.scenario == "resume_big" else None
        self.big_cut = False
        self.cut_bytes = args.cut_bytes
        self.cut_piece = args.cut_piece
        self.transcript = transcript
        self.misbehaved_for = set()
        self.expunged = set()
        self.next_conn = 0
        self.lock = threading.Lock()

    def new_connection(self):
        with self.lock:
            self.next_conn += 1
            return self.next_conn

    def log(self, session, line):
        with self.lock, open(self.transcript, "a") as f:
            f.write("%.3f conn=%d user=%s %s\n" % (time.time(), session.conn_id, session.login, line))

    def take_misbehaviour(self, user):
        """True exactly once (per user for throttle_all): the first body fetch
        that the scenario targets."""
        with self.lock:
            if self.scenario in ("normal", "resume_big", "token_expiry"):
                return False
            if self.scenario == "throttle_user01" and not user.startswith("user01@"):
                return False
            key = user if self.scenario == "throttle_all" else "*"
            if key in self.misbehaved_for:
                return False
            self.misbehaved_for.add(key)
            return True

    def take_piece_cut(self, uid, origin):
        """True for the first partial fetch of the big message from --cut-piece."""
        with self.lock:
            if uid != self.big_uid or origin != self.cut_piece:
                return False
            self.cut_piece = None
            return True

    def take_big_cut(self):
        """True for the first whole-body fetch of the big message only."""
        with self.lock:
            if self.big_uid is None or self.big_cut:
                return False
            self.big_cut = True
            return True


class Session:
    def __init__(self, conn_id):
        self.conn_id = conn_id
        self.login = "-"
        self.token_exp = None  # the bearer token's `exp`, when it had one


def fetch_item(seq, uid, body):
    return (b'* %d FETCH (UID %d INTERNALDATE "%s" FLAGS (\\Seen) BODY[] {%d}\r\n'
            % (seq, uid, INTERNALDATE.encode(), len(body)) + body + b")\r\n")


def partial_item(seq, uid, body, origin, length):
    chunk = body[origin:origin + length]
    return (b'* %d FETCH (UID %d INTERNALDATE "%s" FLAGS (\\Seen) BODY[]<%d> {%d}\r\n'
            % (seq, uid, INTERNALDATE.encode(), origin, len(chunk)) + chunk + b")\r\n")


def uid_set(text):
    out = []
    for part in text.split(","):
        if ":" in part:
            lo, hi = part.split(":")
            lo = 2 ** 32 - 1 if lo == "*" else int(lo)
            hi = 2 ** 32 - 1 if hi == "*" else int(hi)
            lo, hi = min(lo, hi), max(lo, hi)
            out.extend(u for u in sorted(MESSAGES) if lo <= u <= hi)
        else:
            out.append(int(part))
    return out


def bearer_exp(payload):
    """`exp` of the JWT in an XOAUTH2 payload (no signature check), or None."""
    m = re.search(r"auth=Bearer ([^\x01]*)", payload)
    if not m:
        return None
    parts = m.group(1).split(".")
    if len(parts) < 2:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None


def serve(conn, state, session):
    f = conn.makefile("rwb", buffering=0)
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
            session.login = user.group(1) if user else "?"
            session.token_exp = bearer_exp(payload)
            state.log(session, "%s AUTHENTICATE XOAUTH2 user=%s" % (tag, session.login))
            send("%s OK [CAPABILITY %s] authenticated\r\n" % (tag, CAPS))
            logged_in = True
            continue
        state.log(session, text)
        if (state.scenario == "token_expiry" and logged_in and session.token_exp is not None
                and time.time() >= session.token_exp):
            state.log(session, "KICK exp=%d" % session.token_exp)
            send("* BYE Session invalidated - AccessTokenExpired\r\n")
            return
        if state.scenario == "not_connected" and logged_in:
            send("%s BAD User is authenticated but not connected.\r\n* BYE Connection closed. 14\r\n" % tag)
            return
        live = [u for u in sorted(MESSAGES) if u not in state.expunged]
        if cmd == "CAPABILITY":
            send("* CAPABILITY %s\r\n%s OK done\r\n" % (CAPS, tag))
        elif cmd == "LIST":
            if state.list_delay > 0:
                time.sleep(state.list_delay)
            state.log(session, "LIST answered")
            send('* LIST (\\HasNoChildren) "/" INBOX\r\n%s OK LIST done\r\n' % tag)
        elif cmd == "STATUS":
            send("* STATUS INBOX (MESSAGES %d UIDNEXT %d UIDVALIDITY %d)\r\n%s OK STATUS done\r\n"
                 % (len(live), max(MESSAGES, default=0) + 1, UIDVALIDITY, tag))
        elif cmd == "EXAMINE" and state.scenario == "throttle_examine" and state.take_misbehaviour(session.login):
            send("%s NO Request is throttled. Suggested Backoff Time: 300 milliseconds\r\n" % tag)
        elif cmd == "EXAMINE":
            send("* %d EXISTS\r\n* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n%s OK [READ-ONLY] done\r\n"
                 % (len(live), UIDVALIDITY, max(MESSAGES, default=0) + 1, tag))
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
            if state.fetch_delay > 0:
                time.sleep(state.fetch_delay)
            uids = [u for u in uid_set(text.split(" ")[3]) if u in live]
            partial = re.search(r"BODY\.PEEK\[\]<(\d+)\.(\d+)>", text)
            if partial:
                seq = {u: i for i, u in enumerate(live, 1)}
                origin, length = int(partial.group(1)), int(partial.group(2))
                if len(uids) == 1 and state.take_piece_cut(uids[0], origin):
                    chunk = MESSAGES[uids[0]][origin:origin + length]
                    sent = len(chunk) * 2 // 5
                    send(b'* %d FETCH (UID %d BODY[]<%d> {%d}\r\n' % (seq[uids[0]], uids[0], origin, len(chunk))
                         + chunk[:sent])
                    state.log(session, "CUT uid=%d piece=%d sent=%d of=%d" % (uids[0], origin, sent, len(chunk)))
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                out = b"".join(partial_item(seq[u], u, MESSAGES[u], origin, length) for u in uids)
                send(out + ("%s OK FETCH completed.\r\n" % tag).encode())
            elif not fetch_bodies(conn, send, tag, uids, live, state, session):
                return
        else:
            send("%s BAD Command Argument Error. 11\r\n" % tag)


def fetch_bodies(conn, send, tag, uids, live, state, session):
    """Returns False when the connection must end."""
    scenario = state.scenario if state.take_misbehaviour(session.login) else "normal"
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
        if u == state.big_uid and state.take_big_cut():
            cut = state.cut_bytes if state.cut_bytes is not None else len(body) * 2 // 5
            cut = min(cut, len(body))
            send(out + b'* %d FETCH (UID %d INTERNALDATE "%s" FLAGS (\\Seen) BODY[] {%d}\r\n'
                 % (seq[u], u, INTERNALDATE.encode(), len(body)) + body[:cut])
            state.log(session, "CUT uid=%d sent=%d of=%d" % (u, cut, len(body)))
            # A plain FIN after the bytes (no BYE, no TLS close_notify): the
            # client sees the stream end inside the literal. An RST could
            # discard bytes it has not read yet, which would make "how far it
            # got" depend on timing.
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
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
    p.add_argument("--bed", help="test bed dir (server.pem, server.key)")
    p.add_argument("--dir", help="where to write port and transcript.log")
    p.add_argument("--scenario", default="normal")
    p.add_argument("--messages", type=int, default=3)
    p.add_argument("--big-bytes", type=int, default=6 * 1024 * 1024)
    p.add_argument("--cut-bytes", type=int)
    p.add_argument("--cut-piece", type=int)
    p.add_argument("--fetch-delay-ms", type=int, default=0)
    p.add_argument("--list-delay-ms", type=int, default=0)
    p.add_argument("--dump-message", type=int, metavar="UID")
    p.add_argument("--dump-sha256", type=int, metavar="UID")
    args = p.parse_args()
    build_messages(args)
    if args.dump_sha256 is not None:
        if args.dump_sha256 not in MESSAGES:
            print("no message with UID %d" % args.dump_sha256, file=sys.stderr)
            return 1
        print(hashlib.sha256(MESSAGES[args.dump_sha256]).hexdigest())
        return 0
    if args.dump_message is not None:
        if args.dump_message not in MESSAGES:
            print("no message with UID %d" % args.dump_message, file=sys.stderr)
            return 1
        sys.stdout.buffer.write(MESSAGES[args.dump_message])
        return 0
    if not args.bed or not args.dir:
        p.error("--bed and --dir are required to serve")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.bed, "server.pem"), os.path.join(args.bed, "server.key"))
    state = State(args, os.path.join(args.dir, "transcript.log"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port_file = os.path.join(args.dir, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        raw, _ = listener.accept()
        session = Session(state.new_connection())
        state.log(session, "CONNECT")

        def handle(raw=raw, session=session):
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    serve(conn, state, session)
            except (OSError, ssl.SSLError, ValueError):
                pass
            finally:
                state.log(session, "DISCONNECT")
        threading.Thread(target=handle, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
