#!/usr/bin/python3
"""Compares what one tool stored with the test bed's seed manifest.

    bench/peers_verify.py --manifest DIR/seed-manifest.json --maildir ROOT
    bench/peers_verify.py --manifest DIR/seed-manifest.json --ls-json FILE

The reference is the manifest's `imap_sha256` of every seeded message: the
exact bytes IMAP `BODY[]` returns. --ls-json reads `mailark ls --json`
(one object per line with "sha256"). --maildir hashes every file under
ROOT/**/{cur,new}; Maildir files are whatever bytes the tool chose to write,
so each file is checked twice: as stored ("exact"), and after undoing the
two rewrites peers are known to make (mbsync inserts an `X-TUID:` header
line; both peers store LF line ends), i.e. with X-TUID removed from the
header and LF turned back into CRLF ("normalised").

Prints one line of JSON: expected (messages in the manifest), stored
(messages or files found), exact / normalised (stored items whose hash is in
the reference), missing (reference messages not matched, counted with
multiplicity per distinct hash), unknown (stored items matching nothing).
"""

import argparse
import collections
import hashlib
import json
import os
import re
import sys

TUID = re.compile(rb"^X-TUID: [^\r\n]*\r?\n", re.MULTILINE)


def reference(manifest_path):
    with open(manifest_path) as f:
        manifest = json.load(f)
    counts = collections.Counter()
    for folders in manifest["mailboxes"].values():
        for entries in folders.values():
            for e in entries:
                counts[e["imap_sha256"]] += 1
    return counts


def normalise(data):
    end = data.find(b"\n\n")
    if end < 0:
        end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[:end + 1], data[end + 1:])
    head = TUID.sub(b"", head, count=1)
    return (head + body).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def maildir_hashes(root):
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            yield hashlib.sha256(data).hexdigest(), hashlib.sha256(normalise(data)).hexdigest()


def ls_hashes(path):
    pattern = re.compile(r'"sha256":"([0-9a-f]{64})"')
    with open(path) as f:
        for line in f:
            m = pattern.search(line)
            if m:
                yield m.group(1), m.group(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--manifest", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--maildir")
    g.add_argument("--ls-json")
    args = p.parse_args()
    ref = reference(args.manifest)
    left = collections.Counter(ref)
    stored = exact = normalised = unknown = 0
    items = maildir_hashes(args.maildir) if args.maildir else ls_hashes(args.ls_json)
    for raw, norm in items:
        stored += 1
        if raw in ref:
            exact += 1
        if norm in ref:
            normalised += 1
            if left[norm] > 0:
                left[norm] -= 1
        else:
            unknown += 1
    json.dump({"expected": sum(ref.values()), "stored": stored, "exact": exact,
               "normalised": normalised, "missing": sum(left.values()), "unknown": unknown},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
