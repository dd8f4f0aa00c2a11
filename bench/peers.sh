#!/usr/bin/env bash
# mailark against the peers Debian ships, on the same test-bed corpus.
#
# Starts one test bed (tests/testbed) under /var/tmp, then archives every
# mailbox with each tool in turn, in the same run:
#   mailark      `mailark run` ([limits] connections = --connections)
#   mbsync       isync 1.4: one IMAPAccount/Channel per mailbox, `mbsync -a`
#                (sequential, as its manual does it for many accounts);
#                XOAUTH2 through libsasl2-modules-kdexoauth2 (AuthMechs
#                XOAUTH2, PassCmd printing the token)
#   offlineimap  offlineimap3: one account per mailbox, its own parallel
#                option `maxsyncaccounts` (= --oi-accounts), XOAUTH2 with
#                oauth2_access_token_eval
# Missing Debian packages are installed with apt-get (run as root).
#
# Each run is timed by GNU time (wall, user+sys CPU including children, peak
# RSS) and its output is checked against the bed's seed manifest
# (bench/peers_verify.py): mailark through `mailark ls --json`, the peers by
# hashing their Maildir files as stored and after undoing their known
# rewrites (LF line ends, mbsync's X-TUID header).
#
# --incremental runs each tool a second time on its own output (nothing new
# on the server: what a nightly run mostly is) and reports that wall time.
#
# --shaped puts testbed_shaper (tests/testbed/shaper.cc: per-connection
# round trip and bandwidth, built with the tests) between every tool and
# Dovecot, and then runs mailark again with each connection count of
# --sweep to show throughput against connections.
#
# The peers get the bed's access token through the environment
# (BENCH_TOKEN, read by PassCmd / oauth2_access_token_eval), so no token is
# written to a file. A warm-up mailark run (not timed) first makes Dovecot
# build its indexes, so no tool pays for that.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
TESTBED="$REPO/tests/testbed/testbed.py"
VERIFY="$REPO/bench/peers_verify.py"
shaper=""

mailboxes=40
per_mailbox=""
tools="mailark,mbsync,offlineimap"
connections=16
per_mailbox_connections=2
compression=zstd
oi_accounts=8
shaped=0
incremental=0
rtt_ms=40
mbit=16
sweep="1 4 16 64"
keep=0
install=1
warmup=1
mailark=""

usage() {
  cat <<EOF
usage: $0 [options]
  --mailboxes N             mailboxes in the bed (default $mailboxes)
  --messages-per-mailbox M  seed M messages per mailbox (default: the bed's
                            mix, 8-25 per folder x 6 folders, ~100)
  --tools LIST              comma list of mailark,mbsync,offlineimap (default all)
  --connections C           mailark [limits] connections (default $connections)
  --oi-accounts K           offlineimap maxsyncaccounts (default $oi_accounts)
  --per-mailbox P           mailark [limits] connections_per_mailbox (default $per_mailbox_connections)
  --compression zstd|none   mailark [archive] compression (default $compression)
  --shaped                  run every tool through testbed_shaper
  --rtt-ms MS --mbit R      shaper round trip / per-connection rate (default $rtt_ms, $mbit)
  --sweep "C1 C2 ..."       with --shaped: mailark connection counts (default "$sweep")
  --mailark PATH            binary (default: build-bench, build-peers, build-lead, build)
  --shaper PATH             testbed_shaper binary (default: tests/testbed_shaper beside
                            the mailark binary, then in those build directories)
  --no-install              do not apt-get missing peers (skip them instead)
  --no-warmup               no untimed warm-up run
  --incremental             time a second run of each tool (nothing new): "incr s"
  --keep                    keep the bed's directory (the bed is stopped)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --mailboxes) mailboxes="$2"; shift 2 ;;
    --messages-per-mailbox) per_mailbox="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --oi-accounts) oi_accounts="$2"; shift 2 ;;
    --per-mailbox) per_mailbox_connections="$2"; shift 2 ;;
    --compression) compression="$2"; shift 2 ;;
    --shaped) shaped=1; shift ;;
    --rtt-ms) rtt_ms="$2"; shift 2 ;;
    --mbit) mbit="$2"; shift 2 ;;
    --sweep) sweep="$2"; shift 2 ;;
    --mailark) mailark="$2"; shift 2 ;;
    --shaper) shaper="$2"; shift 2 ;;
    --no-install) install=0; shift ;;
    --no-warmup) warmup=0; shift ;;
    --incremental) incremental=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "peers: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

for v in "$mailboxes" "$connections" "$oi_accounts" "$per_mailbox_connections" ${per_mailbox:+"$per_mailbox"} $sweep; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "peers: '$v' is not a positive number" >&2; exit 2; }
done
[[ "$compression" == zstd || "$compression" == none ]] || { echo "peers: --compression is zstd or none" >&2; exit 2; }
if [[ -z "$mailark" ]]; then
  for b in build-bench build-peers build-lead build; do
    if [[ -x "$REPO/$b/mailark" ]]; then mailark="$REPO/$b/mailark"; break; fi
  done
fi
if [[ ! -x "$mailark" ]]; then
  echo "peers: no mailark binary; build one with:" >&2
  echo "  cmake -S $REPO -B $REPO/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $REPO/build-bench mailark" >&2
  exit 2
fi
if [[ "$shaped" == 1 && -z "$shaper" ]]; then
  for b in "$(dirname "$mailark")" "$REPO"/{build-bench,build-peers,build-lead,build}; do
    if [[ -x "$b/tests/testbed_shaper" ]]; then shaper="$b/tests/testbed_shaper"; break; fi
  done
fi
if [[ "$shaped" == 1 && ! -x "$shaper" ]]; then
  echo "peers: no testbed_shaper binary (needed by --shaped); build one with:" >&2
  echo "  cmake -S $REPO -B $REPO/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $REPO/build-bench testbed_shaper" >&2
  exit 2
fi

# tool -> Debian packages it needs; installs what is missing.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$install" != 1 ]]; then
    echo "peers: missing packages: ${missing[*]}" >&2
    return 1
  fi
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}
need_packages time
selected=()
IFS=, read -r -a wanted <<<"$tools"
for t in "${wanted[@]}"; do
  case "$t" in
    mailark) selected+=(mailark) ;;
    mbsync) need_packages isync libsasl2-modules-kdexoauth2 && selected+=(mbsync) ||
      echo "peers: skipping mbsync" >&2 ;;
    offlineimap) need_packages offlineimap3 && selected+=(offlineimap) ||
      echo "peers: skipping offlineimap" >&2 ;;
    *) echo "peers: unknown tool $t" >&2; exit 2 ;;
  esac
done

bed="$(mktemp -d /var/tmp/mailark-peers-XXXXXX)"
chmod 755 "$bed"
shaper_pid=""
stop_shaper() {
  if [[ -n "$shaper_pid" ]]; then
    kill -TERM "$shaper_pid" 2>/dev/null || true
    wait "$shaper_pid" 2>/dev/null || true
    shaper_pid=""
  fi
}
cleanup() {
  stop_shaper
  "$PY" "$TESTBED" down --dir "$bed" >/dev/null 2>&1 || true
  if [[ "$keep" == 1 ]]; then echo "kept $bed" >&2; else rm -rf "$bed"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting test bed: $mailboxes mailboxes${per_mailbox:+ x $per_mailbox messages} in $bed" >&2
seed_start=$(date +%s)
"$PY" "$TESTBED" up --dir "$bed" --mailboxes "$mailboxes" \
    ${per_mailbox:+--messages-per-mailbox "$per_mailbox"} >"$bed/up.log" 2>&1 || {
  cat "$bed/up.log" >&2
  exit 1
}
echo "bed up in $(( $(date +%s) - seed_start )) s" >&2
info() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$bed/testbed.json" "$1"; }
imap_port=$(info imap_port)
ca="$bed/ca.pem"
mapfile -t boxes < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["mailboxes"]))' "$bed/testbed.json")
read -r corpus_messages corpus_bytes < <("$PY" - "$bed/seed-manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
e = [x for f in m["mailboxes"].values() for l in f.values() for x in l]
print(len(e), sum(x["imap_size"] for x in e))
EOF
)
echo "corpus: $corpus_messages messages, $(awk -v b="$corpus_bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" >&2

# The access token for the peers, in the environment only (mailark gets its
# own with the client secret, as in production).
BENCH_TOKEN="$("$PY" "$TESTBED" token --dir "$bed")"
export BENCH_TOKEN

# Starts a shaper in front of Dovecot for run $1; sets $port.
start_shaper() {
  local label="$1"
  rm -f "$bed/shaper.$label.port"
  "$shaper" --target "127.0.0.1:$imap_port" --rtt-ms "$rtt_ms" --mbit "$mbit" \
      --port-file "$bed/shaper.$label.port" --stats-file "$bed/shaper.$label.stats" \
      2>"$bed/shaper.$label.log" &
  shaper_pid=$!
  for _ in $(seq 100); do
    [[ -s "$bed/shaper.$label.port" ]] && break
    sleep 0.1
  done
  port=$(cat "$bed/shaper.$label.port")
}

# mailark config: the bed's, with our archive path, port and connections.
write_mailark_config() {  # $1 config, $2 archive, $3 port, $4 connections
  awk -v path="$2" -v port="$3" -v conns="$4" -v per="$per_mailbox_connections" -v comp="$compression" '
    /^\[/ { section = $0; if (section ~ /^\[limits\]/) { skip = 1; next } else skip = 0 }
    skip { next }
    section ~ /^\[archive\]/ && /^[ \t]*path[ \t]*=/ { print "path = \"" path "\""; print "compression = \"" comp "\""; next }
    section ~ /^\[server\]/ && /^[ \t]*port[ \t]*=/ { print "port = " port; next }
    { print }
    END {
      print "[limits]"; print "connections = " conns; print "connections_per_mailbox = " per
      if (per > 4) print "allow_many_connections_per_mailbox = true"
    }
  ' "$bed/mailark.toml" >"$1"
}

write_mbsync_config() {  # $1 rc, $2 maildir root, $3 port
  local b n=0
  : >"$1"
  for b in "${boxes[@]}"; do
    n=$((n + 1))
    cat >>"$1" <<EOF
IMAPAccount a$n
Host localhost
Port $3
User $b
PassCmd "printenv BENCH_TOKEN"
AuthMechs XOAUTH2
SSLType IMAPS
CertificateFile $ca

IMAPStore a$n-far
Account a$n

MaildirStore a$n-near
Path $2/$b/
Inbox $2/$b/INBOX
SubFolders Verbatim

Channel a$n
Far :a$n-far:
Near :a$n-near:
Patterns *
Create Near
Sync Pull
SyncState *

EOF
  done
}

write_offlineimap_config() {  # $1 rc, $2 maildir root, $3 port, $4 metadata dir
  local b n=0 list=""
  for ((n = 1; n <= ${#boxes[@]}; n++)); do list+="${list:+,}a$n"; done
  cat >"$bed/oi_token.py" <<'EOF'
import os
def bench_token():
    return os.environ["BENCH_TOKEN"]
EOF
  cat >"$1" <<EOF
[general]
accounts = $list
maxsyncaccounts = $oi_accounts
metadata = $4
pythonfile = $bed/oi_token.py
ui = quiet

EOF
  n=0
  for b in "${boxes[@]}"; do
    n=$((n + 1))
    cat >>"$1" <<EOF
[Account a$n]
localrepository = a$n-local
remoterepository = a$n-remote

[Repository a$n-local]
type = Maildir
localfolders = $2/$b

[Repository a$n-remote]
type = IMAP
remotehost = localhost
remoteport = $3
ssl = yes
sslcacertfile = $ca
remoteuser = $b
auth_mechanisms = XOAUTH2
oauth2_access_token_eval = bench_token()
readonly = True

EOF
  done
}

# Runs one tool once: run_tool TOOL LABEL PORT [CONNECTIONS]. Appends a
# result row to $bed/results (label wall user sys rss_kib load incr verify-json).
run_tool() {
  local tool="$1" label="$2" port="$3" conns="${4:-$connections}" out="$bed/out.$2"
  rm -rf "$out"
  mkdir -p "$out"
  local cmd=()
  case "$tool" in
    mailark)
      write_mailark_config "$out/mailark.toml" "$out/archive" "$port" "$conns"
      cmd=("$mailark" run --config "$out/mailark.toml") ;;
    mbsync)
      write_mbsync_config "$out/mbsyncrc" "$out/maildir" "$port"
      local b; for b in "${boxes[@]}"; do mkdir -p "$out/maildir/$b"; done
      cmd=(mbsync -c "$out/mbsyncrc" -a -q) ;;
    offlineimap)
      write_offlineimap_config "$out/offlineimaprc" "$out/maildir" "$port" "$out/meta"
      cmd=(offlineimap -o -u quiet -c "$out/offlineimaprc") ;;
  esac
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$label: load $load, running ${cmd[0]##*/}" >&2
  local rc=0
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "${cmd[@]}" >"$out/stdout" 2>"$out/stderr" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "peers: $label exited with $rc (output checked anyway); last lines:" >&2
    tail -n 5 "$out/stdout" "$out/stderr" >&2 || true
  fi
  local incr="-"
  if [[ "$incremental" == 1 ]]; then
    /usr/bin/time -f "%e" -o "$out/time.incr" "${cmd[@]}" >"$out/stdout.incr" 2>"$out/stderr.incr" ||
      echo "peers: $label's incremental run failed; see $out/stderr.incr" >&2
    incr=$(tail -n 1 "$out/time.incr")
  fi
  local verify
  if [[ "$tool" == mailark ]]; then
    "$mailark" ls --json --config "$out/mailark.toml" >"$out/ls.json" 2>"$out/ls.err" || true
    verify=$("$PY" "$VERIFY" --manifest "$bed/seed-manifest.json" --ls-json "$out/ls.json")
  else
    verify=$("$PY" "$VERIFY" --manifest "$bed/seed-manifest.json" --maildir "$out/maildir")
  fi
  printf '%s %s %s %s %s\n' "$label" "$(tail -n 1 "$out/time")" "$load" "$incr" "$(tr -d ' ' <<<"$verify")" >>"$bed/results"
  # Free the disk before the next tool (the corpus can be GBs).
  if [[ "$keep" != 1 ]]; then rm -rf "$out/archive" "$out/maildir"; fi
}

if [[ "$warmup" == 1 ]]; then
  echo "warm-up: mailark once, untimed (Dovecot builds its indexes)" >&2
  write_mailark_config "$bed/warmup.toml" "$bed/warmup-archive" "$imap_port" "$connections"
  "$mailark" run --config "$bed/warmup.toml" >"$bed/warmup.out" 2>&1 || true
  rm -rf "$bed/warmup-archive"
fi

: >"$bed/results"
for t in "${selected[@]}"; do
  if [[ "$shaped" == 1 ]]; then
    start_shaper "$t"
    run_tool "$t" "$t" "$port"
    stop_shaper
  else
    run_tool "$t" "$t" "$imap_port"
  fi
done
if [[ "$shaped" == 1 ]]; then
  for c in $sweep; do
    start_shaper "mailark-c$c"
    run_tool mailark "mailark-c$c" "$port" "$c"
    stop_shaper
  done
fi

# The table. Ratio: the tool's wall time over mailark's (how many times
# faster mailark was); CPU/GiB over the corpus bytes.
"$PY" - "$bed" "$corpus_messages" "$corpus_bytes" "$shaped" <<'EOF'
import json, os, sys
bed, messages, size, shaped = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
rows = []
for line in open(os.path.join(bed, "results")):
    label, wall, user, sys_, rss, load, incr, verify = line.split()
    v = json.loads(verify)
    peak = ""
    stats = os.path.join(bed, "shaper.%s.stats" % label)
    if os.path.exists(stats):
        peak = str(json.load(open(stats))["peak_concurrent"])
    rows.append((label, float(wall), float(user) + float(sys_), int(rss) / 1024, load, v, peak, incr))
base = next((r[1] for r in rows if r[0] == "mailark"), None)
mib = size / 1048576
print()
print("corpus: %d messages, %.1f MiB; %s" % (messages, mib,
      "shaped per connection" if shaped else "loopback, unshaped"))
head = ["tool", "wall s", "msgs ok", "msgs/s", "MiB/s", "CPU s", "CPU s/GiB",
        "RSS MiB", "vs mailark", "exact", "missing", "load"]
if shaped:
    head.insert(9, "conns")
if any(r[7] != "-" for r in rows):
    head.insert(2, "incr s")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for label, wall, cpu, rss, load, v, peak, incr in rows:
    ok = v["normalised"]
    cells = [label, "%.2f" % wall, "%d/%d" % (ok, v["expected"]),
             "%.0f" % (ok / wall if wall else 0), "%.1f" % (mib / wall if wall else 0),
             "%.2f" % cpu, "%.1f" % (cpu / (size / 2**30)), "%.1f" % rss,
             ("%.2fx" % (wall / base)) if base else "-",
             "%d" % v["exact"], "%d" % v["missing"], load]
    if shaped:
        cells.insert(9, peak or "-")
    if "incr s" in head:
        cells.insert(2, incr)
    print("| " + " | ".join(cells) + " |")
print()
print("msgs ok: stored messages whose bytes match the bed (after undoing LF line ends and")
print("X-TUID for peers); exact: stored byte-for-byte; vs mailark: wall time / mailark's;")
print("CPU: user+sys incl. children (Dovecot not counted); load: 1-min load average before the run.")
EOF
