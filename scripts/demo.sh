#!/usr/bin/env bash
# Sets up mailark, starts the local demo tenant (a real Dovecot standing in
# for Exchange Online, a fake Entra ID token endpoint, 30 seeded mailboxes),
# archives it, and shows `mailark status`. Needs root (apt-get, and the demo
# Dovecot's mail is owned by the `mail` user).
#   MAILARK_DEMO_DIR (default /var/tmp/mailark-demo)   MAILARK_DEMO_MAILBOXES (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${MAILARK_DEMO_DIR:-/var/tmp/mailark-demo}"
bash scripts/setup.sh
/usr/bin/python3 tests/testbed/testbed.py down --dir "$dir" >/dev/null 2>&1 || true
/usr/bin/python3 tests/testbed/testbed.py up --dir "$dir" --mailboxes "${MAILARK_DEMO_MAILBOXES:-30}"
echo
echo "== mailark run --config $dir/mailark.toml"
build/mailark run --config "$dir/mailark.toml"
echo
echo "== mailark status --config $dir/mailark.toml"
build/mailark status --config "$dir/mailark.toml"
cat <<EOT

The demo tenant is still running. Try:
  build/mailark ls --config $dir/mailark.toml --mailbox user01@contoso.test
  build/mailark cat --config $dir/mailark.toml <sha256 from ls>
  /usr/bin/python3 tests/testbed/testbed.py deliver --dir $dir --mailbox user01@contoso.test --folder INBOX --count 5
  build/mailark run --config $dir/mailark.toml        # fetches just the 5 new messages
Stop it with:
  /usr/bin/python3 tests/testbed/testbed.py down --dir $dir
EOT
