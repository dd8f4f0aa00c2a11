#!/usr/bin/python3
"""mailark's real-parts test bed: a private Dovecot posing as Exchange Online,
a fake Entra ID token endpoint, and deterministic mailboxes.

  testbed.py up      --dir DIR [--mailboxes N] [--capabilities exchange|dovecot]
                     [--token-lifetime S] [--no-seed] [--seed S]
  testbed.py down    --dir DIR
  testbed.py deliver --dir DIR --mailbox M --folder F (--count N [--seed S] | --file PATH)
  testbed.py token   --dir DIR [--app main|noimap] [--aud URL] [--expired] [--bad-signature]
                     [--roles A,B]
  testbed.py fetch   --dir DIR --mailbox M [--folder F]

See README.md in this directory.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import imap_fetch  # noqa: E402
import jwt_mint  # noqa: E402
import pki  # noqa: E402
import seed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


class BedError(Exception):
    pass


def _write_json(path, obj, mode=0o644):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.chmod(path + ".tmp", mode)
    os.rename(path + ".tmp", path)


def _write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    os.chmod(path, 0o600)


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def load_info(directory):
    path = os.path.join(directory, "testbed.json")
    if not os.path.exists(path):
        raise BedError("no test bed in %s (run `testbed.py up --dir %s`)" % (directory, directory))
    with open(path) as f:
        return json.load(f)


def _entra_secret():
    # Shaped like an Entra client secret value: 3 chars, '8Q~', 34 chars.
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~"
    body = "".join(secrets.choice(alphabet) for _ in range(37))
    return body[:3] + "8Q~" + body[3:]


def _check_traversable(directory):
    """Dovecot's mail and auth processes run as unprivileged users and must
    be able to reach DIR."""
    path = os.path.dirname(directory)
    while True:
        if not os.stat(path).st_mode & 0o001:
            raise BedError("%s is not searchable by other users; Dovecot (uid mail/dovecot) "
                           "cannot reach %s. Use `chmod o+x %s` or another --dir."
                           % (path, directory, path))
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


# ---------------------------------------------------------------- up / down

def cmd_up(args):
    start = time.monotonic()
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    if _running_pids(d):
        raise BedError("a test bed is already running in %s; run `down` first" % d)
    _check_traversable(d)
    os.chmod(d, 0o755)
    for sub in ("mail", "keys", "run", "state", "archive"):
        shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
    for name in ("entra.port", "dovecot.log", "dovecot.stdout", "deliveries.jsonl",
                 "deliver.counter"):
        if os.path.exists(os.path.join(d, name)):
            os.unlink(os.path.join(d, name))

    kid = pki.make_pki(d)
    tenant_id = str(uuid.uuid4())
    apps = []
    # "nopop" holds IMAP.AccessAsApp only: a POP3 login with its token must fail.
    for name, roles in (("main", ["IMAP.AccessAsApp", "POP.AccessAsApp"]), ("noimap", []),
                        ("nopop", ["IMAP.AccessAsApp"])):
        secret_file = os.path.join(d, "secret" if name == "main" else name + ".secret")
        _write_secret(secret_file, _entra_secret())
        apps.append({"name": "mailark-testbed-" + name, "client_id": str(uuid.uuid4()),
                     "object_id": str(uuid.uuid4()), "roles": roles,
                     "secret_file": secret_file})
    # "cert" authenticates with a certificate (client assertion), not a secret.
    cert_file, cert_key, cert_wrong_key = pki.make_client_certificate(d, "cert")
    apps.append({"name": "mailark-testbed-cert", "client_id": str(uuid.uuid4()),
                 "object_id": str(uuid.uuid4()),
                 "roles": ["IMAP.AccessAsApp", "POP.AccessAsApp"],
                 "certificate_file": cert_file})
    _write_json(os.path.join(d, "entra.json"), {
        "tenant": seed.DOMAIN, "tenant_id": tenant_id, "kid": kid,
        "token_lifetime": args.token_lifetime,
        "apps": apps})

    started = []
    try:
        entra = _start_entra(d)
        started.append(entra)
        mailboxes = seed.mailbox_names(args.mailboxes)
        dovecot.write_users(d, mailboxes)
        os.makedirs(os.path.join(d, "mail"), exist_ok=True)
        os.chown(os.path.join(d, "mail"), dovecot.MAIL_UID, dovecot.MAIL_GID)
        manifest = {}
        seeder = None if args.no_seed else seed.Seeder(d, args.seed,
                                                         args.messages_per_mailbox)
        for i, mailbox in enumerate(mailboxes, 1):
            if seeder:
                manifest[mailbox] = seeder.seed_mailbox(i, mailbox)
            else:
                seed.ensure_folder(dovecot.mail_home(d, mailbox), "INBOX")
        _write_json(os.path.join(d, "seed-manifest.json"),
                    {"seed": args.seed, "mailboxes": manifest})

        cert = "server"
        if args.untrusted_imap_cert:
            pki.make_untrusted_server_cert(d)
            cert = "untrusted"
        imap_port, pop3_port = _start_dovecot(d, tenant_id, args.capabilities, cert)
        token_port = _wait_entra_port(d, entra)
    except BaseException:
        cmd_down(argparse.Namespace(dir=d), quiet=True)
        raise

    info = {
        "imap_port": imap_port, "pop3_port": pop3_port, "token_port": token_port,
        "authority": "https://localhost:%d" % token_port,
        "tenant": seed.DOMAIN, "tenant_id": tenant_id,
        "client_id": apps[0]["client_id"], "secret_file": apps[0]["secret_file"],
        "noimap_client_id": apps[1]["client_id"], "noimap_secret_file": apps[1]["secret_file"],
        "nopop_client_id": apps[2]["client_id"], "nopop_secret_file": apps[2]["secret_file"],
        "cert_client_id": apps[3]["client_id"], "cert_certificate_file": cert_file,
        "cert_private_key_file": cert_key, "cert_wrong_key_file": cert_wrong_key,
        "cert_wrong_certificate_file": os.path.join(d, "cert-wrong.pem"),
        "ca_file": os.path.join(d, "ca.pem"), "kid": kid,
        "capabilities": args.capabilities, "token_lifetime": args.token_lifetime,
        "mailboxes": mailboxes, "folders": [] if args.no_seed else seed.FOLDERS,
        "dir": d,
    }
    _write_json(os.path.join(d, "testbed.json"), info)
    _write_mailark_toml(d, info)
    print("testbed up in %.1fs: dir=%s imaps=127.0.0.1:%d pop3s=127.0.0.1:%d "
          "authority=%s mailboxes=%d capabilities=%s" % (
              time.monotonic() - start, d, imap_port, pop3_port, info["authority"],
              len(mailboxes), args.capabilities))


def _toml_str(s):
    return json.dumps(s, ensure_ascii=False)


def _write_mailark_toml(d, info):
    text = "\n".join([
        "[app]",
        "tenant = %s" % _toml_str(info["tenant"]),
        "client_id = %s" % _toml_str(info["client_id"]),
        "client_secret_file = %s" % _toml_str(info["secret_file"]),
        "authority = %s" % _toml_str(info["authority"]),
        "[server]",
        'host = "localhost"',
        "port = %d" % info["imap_port"],
        "ca_file = %s" % _toml_str(info["ca_file"]),
        "[archive]",
        "path = %s" % _toml_str(os.path.join(d, "archive")),
        "[mailboxes]",
        "list = [%s]" % ", ".join(_toml_str(m) for m in info["mailboxes"]),
        ""])
    with open(os.path.join(d, "mailark.toml"), "w") as f:
        f.write(text)


def _start_entra(d):
    out = open(os.path.join(d, "fake_entra.log"), "ab")
    proc = subprocess.Popen([PYTHON, os.path.join(HERE, "fake_entra.py"), "--dir", d],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True)
    out.close()
    with open(os.path.join(d, "fake_entra.pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    return proc


def _wait_entra_port(d, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    port_file = os.path.join(d, "entra.port")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BedError("fake_entra.py exited (%s):\n%s" % (
                proc.returncode, open(os.path.join(d, "fake_entra.log")).read()[-3000:]))
        if os.path.exists(port_file):
            port = int(open(port_file).read())
            if dovecot.port_open(port):
                return port
        time.sleep(0.05)
    raise BedError("fake_entra.py did not start within %ds" % timeout)


def _start_dovecot(d, tenant_id, capabilities, cert="server", attempts=4):
    # Ports are picked free then handed to dovecot; a parallel bed may grab
    # one in between, so a bind failure is retried with new ports.
    for attempt in range(attempts):
        imap_port, pop3_port = dovecot.free_port(), dovecot.free_port()
        if imap_port == pop3_port:
            continue
        conf = dovecot.write_config(d, imap_port, pop3_port, tenant_id, capabilities, cert)
        proc = dovecot.start(d, conf)
        if dovecot.wait_ready(proc, [imap_port, pop3_port]):
            return imap_port, pop3_port
        dovecot.stop_pid(proc.pid)
        tail = dovecot.log_tail(d)
        if "Address already in use" not in tail or attempt == attempts - 1:
            raise BedError("dovecot failed to start (exit %s). Log tail:\n%s"
                           % (proc.poll(), tail))
    raise BedError("could not find free ports for dovecot")


def _session_pids(sid):
    """Processes still in the session we created (dovecot's children)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(name))
    return pids


def _running_pids(d):
    pids = []
    for name in ("dovecot.pid", "fake_entra.pid"):
        pid = _read_pid(os.path.join(d, name))
        if pid and dovecot.pid_alive(pid) and _session_pids(pid):
            pids.append(pid)
    return pids


def cmd_down(args, quiet=False):
    d = os.path.abspath(args.dir)
    stopped = 0
    for name in ("dovecot.pid", "fake_entra.pid"):
        path = os.path.join(d, name)
        pid = _read_pid(path)
        if pid is None:
            continue
        # Only touch the pid if it still leads the session we started.
        if _session_pids(pid):
            dovecot.stop_pid(pid)
            for child in _session_pids(pid):
                dovecot.stop_pid(child, timeout=2.0)
            stopped += 1
        os.unlink(path)
    if not quiet:
        print("testbed down: %s (%d process groups stopped)" % (d, stopped))


# ---------------------------------------------------------------- deliver

def cmd_deliver(args):
    d = os.path.abspath(args.dir)
    info = load_info(d)
    if args.mailbox not in info["mailboxes"]:
        raise BedError("unknown mailbox %s" % args.mailbox)
    home = dovecot.mail_home(d, args.mailbox)
    folder = seed.ensure_folder(home, args.folder)
    counter_path = os.path.join(d, "deliver.counter")
    counter = int(open(counter_path).read()) if os.path.exists(counter_path) else 0
    with open(counter_path, "w") as f:
        f.write(str(counter + 1))
    if args.file:
        with open(args.file, "rb") as f:
            batch = [("file:" + os.path.abspath(args.file), f.read())]
    else:
        key = args.seed if args.seed is not None else "deliver-%d" % counter
        batch = []
        for n in range(args.count):
            msg_key = "%s:%s:%s:%d" % (key, args.mailbox, args.folder, n)
            size = seed.log_size(random.Random(msg_key), 1000, 200000)
            batch.append(("generated:deliver", seed.generated_message(
                msg_key, size, args.mailbox, seed.BASE_TIME + 86400 * 30 + n, "[delivered]")))
    now = int(time.time())
    entries = []
    for n, (source, data) in enumerate(batch):
        name = "%d.M%06dP%dQ%d.testbed-deliver,S=%d" % (now, n, os.getpid(), counter, len(data))
        entries.append(seed.write_message(os.path.join(folder, "new"), name, data, now, source,
                                          via_tmp=os.path.join(folder, "tmp")))
    with open(os.path.join(d, "deliveries.jsonl"), "a") as f:
        for e in entries:
            f.write(json.dumps(dict(e, mailbox=args.mailbox, folder=args.folder),
                               ensure_ascii=False) + "\n")
    for e in entries:
        print(e["sha256"])


# ---------------------------------------------------------------- tokens

def request_token(info, app="main", scope="https://outlook.office365.com/.default"):
    """Client-credentials grant against the fake endpoint; returns the JSON."""
    cid = info["client_id"] if app == "main" else info["noimap_client_id"]
    with open(info["secret_file"] if app == "main" else info["noimap_secret_file"]) as f:
        secret = f.read().strip()
    body = urllib.parse.urlencode({"client_id": cid, "client_secret": secret, "scope": scope,
                                   "grant_type": "client_credentials"}).encode()
    url = "%s/%s/oauth2/v2.0/token" % (info["authority"], info["tenant_id"])
    context = ssl.create_default_context(cafile=info["ca_file"])
    req = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        raise BedError("token request failed: HTTP %d %s" % (e.code, e.read()[:300]))


def mint_token(info, app="main", aud="https://outlook.office365.com", expired=False,
               bad_signature=False, roles=None):
    """Signs a token directly (no endpoint); roles=None keeps the app's roles."""
    d = info["dir"]
    with open(os.path.join(d, "entra.json")) as f:
        entra = json.load(f)
    app_cfg = dict(entra["apps"][0 if app == "main" else 1])
    if roles is not None:
        app_cfg["roles"] = roles
    now = time.time() - (7200 if expired else 0)
    claims = jwt_mint.app_claims(info["tenant_id"], app_cfg, aud, 3600, now=now)
    key = pki.new_unrelated_key() if bad_signature else \
        pki.load_private_key(os.path.join(d, "signing.key"))
    return jwt_mint.sign(claims, key, entra["kid"])


def cmd_token(args):
    info = load_info(os.path.abspath(args.dir))
    if args.aud or args.expired or args.bad_signature or args.roles is not None:
        roles = None if args.roles is None else [r for r in args.roles.split(",") if r]
        token = mint_token(info, args.app, args.aud or "https://outlook.office365.com",
                           args.expired, args.bad_signature, roles)
    else:
        token = request_token(info, args.app)["access_token"]
    print(token)


# ---------------------------------------------------------------- fetch

def cmd_fetch(args):
    info = load_info(os.path.abspath(args.dir))
    token = request_token(info)["access_token"]
    for row in imap_fetch.fetch(info["imap_port"], info["ca_file"], args.mailbox, token,
                                args.folder):
        print(json.dumps(row, ensure_ascii=False), flush=True)


def cmd_flag(args):
    """Adds a flag to one message (to test that archives pick up flag changes)."""
    info = load_info(os.path.abspath(args.dir))
    token = request_token(info)["access_token"]
    conn = imap_fetch.connect(info["imap_port"], info["ca_file"], args.mailbox, token)
    try:
        typ, _ = conn.select(imap_fetch._quote(args.folder))
        if typ != "OK":
            raise BedError("cannot select %s" % args.folder)
        typ, _ = conn.uid("STORE", str(args.uid), "+FLAGS", "(%s)" % args.add)
        if typ != "OK":
            raise BedError("STORE failed")
    finally:
        conn.logout()


def cmd_recreate(args):
    """Deletes and recreates a folder: the server gives it a new UIDVALIDITY."""
    info = load_info(os.path.abspath(args.dir))
    token = request_token(info)["access_token"]
    conn = imap_fetch.connect(info["imap_port"], info["ca_file"], args.mailbox, token)
    try:
        for verb in ("DELETE", "CREATE"):
            typ, data = conn._simple_command(verb, imap_fetch._quote(args.folder))
            if typ != "OK":
                raise BedError("%s %s failed: %s" % (verb, args.folder, data))
    finally:
        conn.logout()


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("recreate", help="delete and recreate a folder (new UIDVALIDITY)")
    p.add_argument("--dir", required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--folder", required=True)
    p.set_defaults(func=cmd_recreate)

    p = sub.add_parser("flag", help="add a flag to one message")
    p.add_argument("--dir", required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--folder", default="INBOX")
    p.add_argument("--uid", type=int, required=True)
    p.add_argument("--add", required=True, help="e.g. \\\\Flagged")
    p.set_defaults(func=cmd_flag)

    p = sub.add_parser("up")
    p.add_argument("--dir", required=True)
    p.add_argument("--mailboxes", type=int, default=20)
    p.add_argument("--capabilities", choices=["exchange", "dovecot"], default="dovecot")
    p.add_argument("--token-lifetime", type=int, default=3600)
    p.add_argument("--no-seed", action="store_true")
    p.add_argument("--untrusted-imap-cert", action="store_true",
                   help="Dovecot presents a self-signed certificate not in ca.pem "
                        "(the token endpoint stays trusted)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--messages-per-mailbox", type=int, default=None,
                   help="seed N messages per mailbox spread over the folders (the big INBOX "
                        "message of every 4th mailbox comes on top); default 8-25 per folder")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down")
    p.add_argument("--dir", required=True)
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("deliver")
    p.add_argument("--dir", required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--folder", default="INBOX")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seed")
    p.add_argument("--file")
    p.set_defaults(func=cmd_deliver)

    p = sub.add_parser("token")
    p.add_argument("--dir", required=True)
    p.add_argument("--app", choices=["main", "noimap"], default="main")
    p.add_argument("--aud")
    p.add_argument("--expired", action="store_true")
    p.add_argument("--bad-signature", action="store_true")
    p.add_argument("--roles", help="comma-separated roles for a minted token ('' for none)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("fetch")
    p.add_argument("--dir", required=True)
    p.add_argument("--mailbox", required=True)
    p.add_argument("--folder")
    p.set_defaults(func=cmd_fetch)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except BedError as e:
        print("testbed: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
