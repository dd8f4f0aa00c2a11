#!/usr/bin/python3
"""Scripted misbehaving POP3 server (implicit TLS) for fault tests only.

  fake_pop3.py --cert server.pem --key server.key --scenario NAME \
               --port-file F --transcript T

Binds 127.0.0.1 on a free port, writes the port to F, serves connections
until killed. Accepts any AUTH XOAUTH2 payload. Every command received is
appended to T (the AUTH payload as <payload>). Scenarios:

  ok            two messages (one dot-stuffed), then QUIT
  drop_mid_retr RETR 1 complete, RETR 2 cut off mid-message (connection closed)
  long_line     a UIDL line of 10000 bytes
  dup_uidl      two messages with the same UIDL
  unterminated  UIDL reply without its "." line, then the connection closes
  empty_retr    RETR answers "+OK" with no data
  garbage       a greeting that is not +OK/-ERR
"""

import argparse
import socket
import ssl

MESSAGES = [
    b"From: a@contoso.test\r\nSubject: one\r\n\r\nHello\r\n.leading dot\r\n",
    b"From: b@contoso.test\r\nSubject: two\r\n\r\n" + b"line of text\r\n" * 200,
]


def stuff(data):
    out = []
    for line in data.split(b"\r\n")[:-1]:
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out) + b"\r\n.\r\n"


def serve(conn, scenario, transcript):
    f = conn.makefile("rb")

    def send(data):
        conn.sendall(data)

    if scenario == "garbage":
        send(b"HELLO THERE\r\n")
        return
    send(b"+OK fake ready.\r\n")
    uidls = [b"u1", b"u2"]
    if scenario == "dup_uidl":
        uidls = [b"same", b"same"]
    authing = False
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.rstrip(b"\r\n")
        with open(transcript, "ab") as t:
            t.write((b"<payload>" if authing and cmd else cmd) + b"\n")
        if authing:
            authing = False
            send(b"+OK Logged in.\r\n")
            continue
        word = cmd.split(b" ")[0].upper()
        if word == b"CAPA":
            send(b"+OK\r\nTOP\r\nUIDL\r\nSASL XOAUTH2\r\n.\r\n")
        elif word == b"AUTH":
            authing = True
            send(b"+ \r\n")
        elif word == b"UIDL":
            if scenario == "long_line":
                send(b"+OK\r\n1 " + b"x" * 10000 + b"\r\n.\r\n")
            elif scenario == "unterminated":
                send(b"+OK\r\n1 u1\r\n")
                return
            else:
                send(b"+OK\r\n" + b"".join(b"%d %s\r\n" % (i + 1, u) for i, u in enumerate(uidls)) + b".\r\n")
        elif word == b"RETR":
            n = int(cmd.split(b" ")[1])
            if scenario == "empty_retr":
                send(b"+OK\r\n.\r\n")
            elif scenario == "drop_mid_retr" and n == 2:
                send(b"+OK\r\n" + stuff(MESSAGES[1])[:1000])
                return
            else:
                send(b"+OK\r\n" + stuff(MESSAGES[n - 1]))
        elif word == b"QUIT":
            send(b"+OK bye\r\n")
            return
        else:
            send(b"-ERR unknown command\r\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--transcript", required=True)
    args = p.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        raw, _ = sock.accept()
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        try:
            serve(conn, args.scenario, args.transcript)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


if __name__ == "__main__":
    main()
