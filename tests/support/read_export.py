#!/usr/bin/python3
"""Reads a `mailark export` directory back with Python's own `mailbox`
module, the independent reader issue 5 asks for. Run with /usr/bin/python3.

  read_export.py mbox DIR      # every DIR/<folder>.mbox via mailbox.mbox
  read_export.py maildir DIR   # every DIR/<folder>/{cur,new,tmp} via mailbox.Maildir

Prints one tab-separated line per message, sorted:

  mbox     <folder> <sha256> <size> <From_ line after "From ">
  maildir  <folder> <sha256> <size> <subdir> <flags> <mtime>

<folder> is the exported file or directory name (".mbox" removed).
Anything else found under DIR is printed as `unexpected <path>`, so the
caller can fail on it. Exit 2 on a usage or read error.

What Python gives back, checked against CPython 3.11's mailbox.py:
- mailbox.mbox.get_bytes() returns the bytes between the From_ line and
  the blank line that ends each message, minus that one separator "\\n".
  Line ends are kept as stored (os.linesep is "\\n" here, so CRLF
  messages stay CRLF). It does NOT undo ">From " quoting: its writer
  quotes mboxo style, which cannot be undone. mailark writes mboxrd, so
  this script removes one '>' from every line matching ^>+From  itself.
- A message without a final newline comes back with one: the format
  cannot mark where such a message ends, so the exporter adds it.
- mailbox.Maildir.get_bytes() returns the file's bytes unchanged; flags
  are the letters after ":2,"; get_date() is the file's mtime.
"""

import hashlib
import mailbox
import os
import re
import sys

_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def unquote_mboxrd(data):
    return _QUOTED_FROM.sub(rb"\1", data)


def record(data):
    return "%s\t%d" % (hashlib.sha256(data).hexdigest(), len(data))


def read_mbox(root):
    lines = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not name.endswith(".mbox") or not os.path.isfile(path):
            lines.append("unexpected\t%s" % name)
            continue
        box = mailbox.mbox(path, create=False)
        try:
            for key in box.keys():
                data = unquote_mboxrd(box.get_bytes(key))
                lines.append("mbox\t%s\t%s\t%s" % (name[:-len(".mbox")], record(data),
                                                   box.get_message(key).get_from()))
        finally:
            box.close()
    return lines


def read_maildir(root):
    lines = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not os.path.isdir(path) or sorted(os.listdir(path)) != ["cur", "new", "tmp"]:
            lines.append("unexpected\t%s" % name)
            continue
        # Python ignores tmp/; a finished export must leave nothing there.
        for stray in os.listdir(os.path.join(path, "tmp")):
            lines.append("unexpected\t%s/tmp/%s" % (name, stray))
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in box.keys():
            data = box.get_bytes(key)
            message = box.get_message(key)
            lines.append("maildir\t%s\t%s\t%s\t%s\t%d" % (name, record(data), message.get_subdir(),
                                                         message.get_flags(), int(message.get_date())))
    return lines


def main(argv):
    if len(argv) != 3 or argv[1] not in ("mbox", "maildir"):
        sys.stderr.write("usage: read_export.py mbox|maildir DIR\n")
        return 2
    try:
        lines = read_mbox(argv[2]) if argv[1] == "mbox" else read_maildir(argv[2])
    except (OSError, mailbox.Error) as e:
        sys.stderr.write("read_export.py: %s\n" % e)
        return 2
    for line in sorted(lines):
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
