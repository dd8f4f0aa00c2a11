#!/usr/bin/python3
"""Checks a running test bed end to end: good and bad tokens over IMAP and
POP3, and prints the raw wire transcript of a refused XOAUTH2 login.

  selfcheck.py --dir DIR      exit status 0 when every check passes
"""

import argparse
import base64
import imaplib
import os
import poplib
import socket
import ssl
import sys

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_fetch  # noqa: E402
import testbed  # noqa: E402


def imap_login(info, mailbox, token):
    try:
        conn = imap_fetch.connect(info["imap_port"], info["ca_file"], mailbox, token)
    except imaplib.IMAP4.error as e:
        return False, str(e)
    typ, data = conn.select("INBOX", readonly=True)
    conn.logout()
    return typ == "OK", "SELECT %s %s" % (typ, data)


def pop3_login(info, mailbox, token):
    context = ssl.create_default_context(cafile=info["ca_file"])
    conn = poplib.POP3_SSL("localhost", info["pop3_port"], context=context)
    try:
        conn._shortcmd("AUTH XOAUTH2")
        resp = conn._shortcmd(base64.b64encode(imap_fetch.xoauth2(mailbox, token)).decode())
        if resp.startswith(b"+ "):        # JSON error challenge: answer empty
            resp = conn._shortcmd("")
        count, _ = conn.stat()
        return True, "%s; STAT %d" % (resp.decode(), count)
    except poplib.error_proto as e:
        return False, str(e)
    finally:
        try:
            conn.quit()
        except (poplib.error_proto, OSError):
            pass


def wire_transcript(info, mailbox, token):
    """Raw exchange of a SASL-IR XOAUTH2 attempt, token elided."""
    context = ssl.create_default_context(cafile=info["ca_file"])
    lines = []
    with socket.create_connection(("127.0.0.1", info["imap_port"]), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            f = s.makefile("rb")
            lines.append("S: " + f.readline().decode().rstrip("\r\n"))
            b64 = base64.b64encode(imap_fetch.xoauth2(mailbox, token)).decode()
            s.sendall(("A1 AUTHENTICATE XOAUTH2 %s\r\n" % b64).encode())
            lines.append("C: A1 AUTHENTICATE XOAUTH2 <base64 of user=...^Aauth=Bearer ...^A^A>")
            while True:
                line = f.readline().decode().rstrip("\r\n")
                lines.append("S: " + line)
                if line.startswith("+"):
                    payload = line[1:].strip()
                    if payload:
                        lines.append("   (challenge decodes to %s)"
                                     % base64.b64decode(payload).decode())
                    s.sendall(b"\r\n")
                    lines.append("C: <empty line>")
                    continue
                if line.startswith("A1 ") or not line:
                    break
    return lines


def pop3_wire_transcript(info, mailbox, token):
    context = ssl.create_default_context(cafile=info["ca_file"])
    lines = []
    with socket.create_connection(("127.0.0.1", info["pop3_port"]), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            f = s.makefile("rb")
            lines.append("S: " + f.readline().decode().rstrip("\r\n"))
            s.sendall(b"AUTH XOAUTH2\r\n")
            lines.append("C: AUTH XOAUTH2")
            lines.append("S: " + f.readline().decode().rstrip("\r\n"))
            s.sendall(base64.b64encode(imap_fetch.xoauth2(mailbox, token)) + b"\r\n")
            lines.append("C: <base64 of user=...^Aauth=Bearer ...^A^A>")
            while True:
                line = f.readline().decode().rstrip("\r\n")
                lines.append("S: " + line)
                if line.startswith("+ "):
                    s.sendall(b"\r\n")
                    lines.append("C: <empty line>")
                    continue
                break
    return lines


def post_login_capability(info, mailbox, token):
    conn = imap_fetch.connect(info["imap_port"], info["ca_file"], mailbox, token)
    typ, data = conn.capability()
    ns = conn.namespace()
    conn.logout()
    return data[0].decode(), ns[1][0].decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    info = testbed.load_info(os.path.abspath(args.dir))
    mb = info["mailboxes"][0]
    good = testbed.request_token(info)["access_token"]
    cases = [
        ("good token, listed mailbox", mb, good, True),
        ("good token, last mailbox", info["mailboxes"][-1], good, True),
        ("good token, unlisted mailbox", "nobody@contoso.test", good, False),
        ("wrong aud (Graph)", mb, testbed.mint_token(info, aud="https://graph.microsoft.com"),
         False),
        ("expired", mb, testbed.mint_token(info, expired=True), False),
        ("bad signature", mb, testbed.mint_token(info, bad_signature=True), False),
        ("role-less app (noimap)", mb, testbed.request_token(info, "noimap")["access_token"],
         False),
        ("POP role only", mb, testbed.mint_token(info, roles=["POP.AccessAsApp"]), False),
        ("not a JWT", mb, "garbage", False),
    ]
    failures = 0
    for name, mailbox, token, expect in cases:
        ok, detail = imap_login(info, mailbox, token)
        status = "ok" if ok == expect else "FAIL"
        failures += ok != expect
        print("[%s] imap %-30s -> %s (%s)" % (status, name, "accepted" if ok else "refused",
                                            detail))
    pop_cases = [
        ("good token", mb, good, True),
        ("IMAP role only", mb, testbed.mint_token(info, roles=["IMAP.AccessAsApp"]), False),
        ("unlisted mailbox", "nobody@contoso.test", good, False),
    ]
    for name, mailbox, token, expect in pop_cases:
        ok, detail = pop3_login(info, mailbox, token)
        status = "ok" if ok == expect else "FAIL"
        failures += ok != expect
        print("[%s] pop3 %-30s -> %s (%s)" % (status, name, "accepted" if ok else "refused",
                                            detail))
    print("\nwire transcript of a refused XOAUTH2 (expired token):")
    for line in wire_transcript(info, mb, testbed.mint_token(info, expired=True)):
        print("  " + line)
    print("\npop3 wire transcript of a refused XOAUTH2 (expired token):")
    for line in pop3_wire_transcript(info, mb, testbed.mint_token(info, expired=True)):
        print("  " + line)
    cap, ns = post_login_capability(info, mb, good)
    print("\npost-login CAPABILITY: %s\nNAMESPACE: %s" % (cap, ns))
    print("\n%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
