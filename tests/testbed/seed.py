"""Deterministic mailbox content, written straight into Maildir.

Messages are either real corpus files (identical bytes wherever they appear,
so an archive can deduplicate them), generated messages shared by many
mailboxes, or generated messages unique to one mailbox. Same seed, same bytes.
"""

import base64
import email.utils
import hashlib
import os
import random

import dovecot
import mutf7

FOLDERS = ["INBOX", "Archive", "Archive/2024", "Project Plans", "Entwürfe Ünïcødé",
           "Sent Items"]
DOMAIN = "contoso.test"
BASE_TIME = 1700000000          # 2023-11-14; INTERNALDATE comes from file mtime
BIG_SIZE = 3 * 1024 * 1024 + 4321
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("MAILARK_CORPUS",
                        os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared",
                                                      "corpus")))

WORDS = ("quarterly report meeting agenda budget draft review invoice shipment release "
         "schedule contract minutes roadmap customer feedback migration archive backup "
         "Grüße Übersicht Straße naïve café résumé façade smørrebrød crème brûlée").split()


def mailbox_names(count):
    return ["user%02d@%s" % (i, DOMAIN) for i in range(1, count + 1)]


def corpus_files():
    files = []
    for root, dirs, names in os.walk(CORPUS):
        dirs.sort()
        for name in sorted(names):
            if not name.endswith((".eml", ".msg", ".txt")):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                head = f.read(5)
            if head and not head.startswith(b"From "):   # skip mbox blobs
                files.append(path)
    if not files:
        raise RuntimeError("no corpus messages found under %s" % CORPUS)
    return files


def folder_dir(home, folder):
    """Maildir++ layout: INBOX is the root, others are .A.B with modified
    UTF-7 names (the '/' separator maps to '.')."""
    root = os.path.join(home, "Maildir")
    if folder == "INBOX":
        return root
    return os.path.join(root, "." + mutf7.encode(folder).replace("/", "."))


def ensure_folder(home, folder):
    path = folder_dir(home, folder)
    created = []
    for sub in ("", "cur", "new", "tmp"):
        p = os.path.join(path, sub)
        if not os.path.isdir(p):
            os.makedirs(p)
            created.append(p)
    if folder != "INBOX":
        marker = os.path.join(path, "maildirfolder")
        if not os.path.exists(marker):
            open(marker, "wb").close()
            created.append(marker)
    chown_tree_paths([home, os.path.join(home, "Maildir")] + created)
    return path


def chown_tree_paths(paths):
    for p in paths:
        os.chown(p, dovecot.MAIL_UID, dovecot.MAIL_GID)


def _text_line(rng, width):
    line, out = 0, []
    while line < width:
        w = rng.choice(WORDS)
        out.append(w)
        line += len(w) + 1
    return " ".join(out)


def _body_text(rng, size, charset):
    lines, total = [], 0
    while total < size:
        line = _text_line(rng, rng.randint(20, 76))
        lines.append(line)
        total += len(line) + 2
    data = "\r\n".join(lines) + "\r\n"
    return data.encode(charset, "replace")


def generated_message(seed_key, size, to_addr, when, subject_tag):
    """A CRLF message of about `size` bytes with raw 8-bit text and, when
    large, a base64 attachment of pseudo-random bytes."""
    rng = random.Random(seed_key)
    charset = rng.choice(["utf-8", "iso-8859-1"])
    sender = "sender%02d@fabrikam.test" % rng.randint(1, 40)
    subject = "%s %s %s" % (subject_tag, rng.choice(WORDS).capitalize(), rng.randint(1, 99999))
    msgid = "<%s@testbed.%s>" % (hashlib.sha1(seed_key.encode()).hexdigest()[:20], DOMAIN)
    date = _rfc2822(when)
    head = ("From: Sender <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
            "MIME-Version: 1.0\r\n" % (sender, to_addr, subject, date, msgid)).encode()
    text_size = min(size, rng.randint(400, 6000))
    text = _body_text(rng, text_size, charset)
    if size <= text_size + 1200:
        return (head + b"Content-Type: text/plain; charset=" + charset.encode() +
                b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text)
    boundary = b"=_testbed_" + hashlib.sha1(seed_key.encode()).hexdigest()[:16].encode()
    raw = rng.randbytes(max(0, (size - len(text) - 900) * 3 // 4))
    b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (head + b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n" +
            b"This is a multi-part message in MIME format.\r\n\r\n--" + boundary + b"\r\n" +
            b"Content-Type: text/plain; charset=" + charset.encode() +
            b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text + b"\r\n--" + boundary +
            b"\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n" + b64 +
            b"\r\n--" + boundary + b"--\r\n")


def _rfc2822(t):
    return email.utils.formatdate(t, localtime=False)


def log_size(rng, low, high):
    return int(round(low * (high / low) ** rng.random()))


class Seeder:
    def __init__(self, directory, seed=1, messages_per_mailbox=None):
        self.directory = directory
        self.seed = seed
        # None: 8-25 per folder (the default mix). N: N per mailbox spread
        # over the folders, for benchmarks that need a given corpus size.
        self.messages_per_mailbox = messages_per_mailbox
        self.corpus = corpus_files()
        self.cache = {}
        self.counter = 0

    def _shared(self, key, size):
        if key not in self.cache:
            self.cache[key] = generated_message("%s:%s" % (self.seed, key), size,
                                                "all-staff@" + DOMAIN, BASE_TIME - 86400,
                                                "[shared]")
        return self.cache[key]

    def _corpus(self, path):
        if path not in self.cache:
            with open(path, "rb") as f:
                self.cache[path] = f.read()
        return self.cache[path]

    def plan(self, index, mailbox, folder):
        """[(source label, bytes)] for one folder."""
        rng = random.Random("%s:%s:%s" % (self.seed, mailbox, folder))
        items = []
        if folder == "INBOX" and index % 4 == 1:
            items.append(("generated:big", self._shared("big", BIG_SIZE)))
        for n in range(self._folder_count(rng, folder)):
            kind = rng.random()
            if kind < 0.45:
                path = rng.choice(self.corpus)
                items.append(("corpus:" + os.path.relpath(path, CORPUS), self._corpus(path)))
            elif kind < 0.6:
                k = rng.randint(0, 11)
                items.append(("generated:shared-%d" % k,
                              self._shared("shared-%d" % k, log_size(random.Random(k), 1500,
                                                                     400000))))
            else:
                key = "%s:%s:%s:%d" % (self.seed, mailbox, folder, n)
                size = log_size(rng, 1000, 300000)
                items.append(("generated:unique", generated_message(
                    key, size, mailbox, BASE_TIME + n * 3600, "[%s]" % folder)))
        return items

    def _folder_count(self, rng, folder):
        if self.messages_per_mailbox is None:
            return rng.randint(8, 25)
        per, extra = divmod(self.messages_per_mailbox, len(FOLDERS))
        return per + (1 if FOLDERS.index(folder) < extra else 0)

    def seed_mailbox(self, index, mailbox):
        home = dovecot.mail_home(self.directory, mailbox)
        manifest = {}
        for folder in FOLDERS:
            path = ensure_folder(home, folder)
            entries = []
            for n, (source, data) in enumerate(self.plan(index, mailbox, folder)):
                # Dovecot assigns UIDs to new files in filename-time order,
                # so increasing names give deterministic UIDs.
                when = BASE_TIME + n
                flags = "S" if n % 3 else ""
                name = "%d.M%dP%d.testbed,S=%d:2,%s" % (when, n, index, len(data), flags)
                entries.append(write_message(os.path.join(path, "cur"), name, data, when,
                                             source))
            manifest[folder] = entries
        return manifest


def write_message(target_dir, name, data, when, source, via_tmp=None):
    """Writes one message file owned by mail; via_tmp renames from tmp/ so a
    running Dovecot never sees a partial file."""
    final = os.path.join(target_dir, name)
    path = os.path.join(via_tmp, name) if via_tmp else final
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, dovecot.MAIL_UID, dovecot.MAIL_GID)
    os.chmod(path, 0o600)
    os.utime(path, (when, when))
    if via_tmp:
        os.rename(path, final)
    return entry(data, source, name)


def entry(data, source, name):
    wire = imap_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "imap_sha256": hashlib.sha256(wire).hexdigest(), "imap_size": len(wire),
            # POP3's terminating "." line forces a final CRLF.
            "pop3_exact": wire.endswith(b"\r\n"),
            "source": source, "file": name}


def imap_bytes(data):
    """What Dovecot returns for BODY[]: bare LF turned into CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
