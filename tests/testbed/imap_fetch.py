"""Independent IMAP fetch with Python's imaplib: the reference the archiver's
output is checked against."""

import hashlib
import imaplib
import re
import ssl

import mutf7

_LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.*)$')
_UID_RE = re.compile(rb"UID (\d+)")


def xoauth2(mailbox, token):
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (mailbox, token)).encode()


def connect(port, ca_file, mailbox, token, host="localhost"):
    context = ssl.create_default_context(cafile=ca_file)
    conn = imaplib.IMAP4_SSL(host, port, ssl_context=context)
    sent = []

    def respond(_challenge):
        # First call: the initial response. A second call means the server
        # sent a JSON error challenge; XOAUTH2 answers it with an empty line.
        if sent:
            return b""
        sent.append(True)
        return xoauth2(mailbox, token)

    try:
        conn.authenticate("XOAUTH2", respond)
    except BaseException:
        conn.shutdown()
        raise
    return conn


def _unquote(raw):
    if raw.startswith(b'"') and raw.endswith(b'"'):
        return re.sub(rb'\\(.)', rb'\1', raw[1:-1])
    return raw


def list_folders(conn):
    """[(wire name, decoded name)] of selectable folders, in server order."""
    typ, data = conn.list()
    if typ != "OK":
        raise RuntimeError("LIST failed: %r" % data)
    folders, i = [], 0
    while i < len(data):
        item = data[i]
        i += 1
        if isinstance(item, tuple):       # name sent as a literal
            head, literal = item
            m = _LIST_RE.match(head.rsplit(b" {", 1)[0] + b" x")
            flags, wire = m.group("flags"), literal
        else:
            m = _LIST_RE.match(item)
            if not m:
                continue
            flags, wire = m.group("flags"), _unquote(m.group("name"))
        if b"\\noselect" in flags.lower() or b"\\nonexistent" in flags.lower():
            continue
        name = wire.decode("ascii")
        folders.append((name, mutf7.decode(name)))
    return folders


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetch_folder(conn, wire_name):
    """Yields (uid, body bytes) for every message in the folder."""
    typ, data = conn.select(_quote(wire_name), readonly=True)   # EXAMINE
    if typ != "OK":
        raise RuntimeError("EXAMINE %s failed: %r" % (wire_name, data))
    if int(data[0] or 0) == 0:
        return
    typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
    if typ != "OK":
        raise RuntimeError("UID FETCH failed: %r" % data)
    pending = None
    for item in data:
        if isinstance(item, tuple):
            head, body = item
            m = _UID_RE.search(head)
            if m:
                yield int(m.group(1)), body
            else:
                pending = body
        elif pending is not None and item:
            m = _UID_RE.search(item)      # UID came after the literal
            if m:
                yield int(m.group(1)), pending
            pending = None


def fetch(port, ca_file, mailbox, token, folder=None):
    """Yields dicts {folder, uid, sha256, size}."""
    conn = connect(port, ca_file, mailbox, token)
    try:
        if folder is None:
            folders = list_folders(conn)
        else:
            folders = [(mutf7.encode(folder), folder)]
        for wire, name in folders:
            for uid, body in fetch_folder(conn, wire):
                yield {"folder": name, "uid": uid,
                       "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
