#!/usr/bin/python3
"""Independent POP3 fetch with Python's poplib: the reference mailark's POP3
archive is checked against. Prints one JSON line per message:
{"number", "uidl", "sha256", "size"} where the bytes are RETR's data after
dot-unstuffing, each line ending in CRLF (the last one included).

  pop3_fetch.py --dir DIR --mailbox user01@contoso.test
"""

import argparse
import base64
import hashlib
import json
import os
import poplib
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testbed  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--mailbox", required=True)
    args = p.parse_args()
    info = testbed.load_info(os.path.abspath(args.dir))
    token = testbed.request_token(info)["access_token"]
    context = ssl.create_default_context(cafile=info["ca_file"])
    conn = poplib.POP3_SSL("localhost", info["pop3_port"], context=context)
    try:
        conn._shortcmd("AUTH XOAUTH2")  # "+ "
        payload = "user=%s\x01auth=Bearer %s\x01\x01" % (args.mailbox, token)
        conn._shortcmd(base64.b64encode(payload.encode()).decode())
        _, listing, _ = conn.uidl()
        for entry in listing:
            number, uidl = entry.decode().split(" ", 1)
            _, lines, _ = conn.retr(int(number))
            data = b"".join(line + b"\r\n" for line in lines)
            print(json.dumps({"number": int(number), "uidl": uidl,
                              "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}),
                  flush=True)
    finally:
        conn.quit()


if __name__ == "__main__":
    main()
