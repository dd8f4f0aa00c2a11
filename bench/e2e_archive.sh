#!/usr/bin/env bash
# End-to-end archive benchmark against the local Dovecot test bed.
#
# Starts a test bed (tests/testbed) with N mailboxes in a temporary directory
# under /var/tmp, archives it with `mailark run` into a fresh archive R times,
# then runs once more on the last archive (incremental, nothing new). Prints
# mailboxes, messages, MiB fetched, wall seconds, messages/s, MiB/s, CPU
# seconds (user+sys), CPU seconds per GiB, peak RSS of mailark, the
# incremental run's wall time, and the store's dedup (distinct objects vs
# messages). With --repeat R > 1 each figure is given as min / median.
#
# Run as root (the test bed needs it). Needs GNU time (/usr/bin/time, Debian
# package `time`) and a Release build:
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build-bench mailark
#
# The bed's Dovecot and token endpoint run on the same machine, so the
# figures are for mailark + Dovecot sharing the CPUs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3
TESTBED="$REPO/tests/testbed/testbed.py"

mailboxes=30
connections=""
repeat=1
mailark="$REPO/build-bench/mailark"
keep=0

usage() {
  cat <<EOF
usage: $0 [--mailboxes N] [--connections C] [--repeat R] [--mailark PATH] [--keep]
  --mailboxes N    mailboxes in the test bed (default 30)
  --connections C  write [limits] connections = C into the config copy
                   (default: the config's own value, mailark's default 16)
  --repeat R       archive into a fresh archive R times; report min / median
  --mailark PATH   binary to run (default build-bench/mailark)
  --keep           leave the bed's directory behind (the bed is still stopped)
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --mailboxes) mailboxes="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --mailark) mailark="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "e2e_archive: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

for v in "$mailboxes" "$repeat" ${connections:+"$connections"}; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "e2e_archive: '$v' is not a positive number" >&2; exit 2; }
done
if [[ ! -x /usr/bin/time ]] || ! /usr/bin/time -f %e true >/dev/null 2>&1; then
  echo "e2e_archive: GNU time is missing; install it with: apt-get install -y time" >&2
  exit 2
fi
if [[ ! -x "$mailark" ]]; then
  echo "e2e_archive: no binary at $mailark; build it with:" >&2
  echo "  cmake -S $REPO -B $REPO/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $REPO/build-bench mailark" >&2
  exit 2
fi

# The bed needs every ancestor of its directory to be o+x; /var/tmp is.
bed="$(mktemp -d /var/tmp/mailark-e2e-XXXXXX)"
chmod 755 "$bed"
cleanup() {
  "$PY" "$TESTBED" down --dir "$bed" >/dev/null 2>&1 || true
  if [[ "$keep" == 1 ]]; then echo "kept $bed" >&2; else rm -rf "$bed"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting test bed: $mailboxes mailboxes in $bed" >&2
"$PY" "$TESTBED" up --dir "$bed" --mailboxes "$mailboxes" >"$bed/up.log" 2>&1 || {
  cat "$bed/up.log" >&2
  exit 1
}

# A copy of the bed's config: our own archive path, and [limits] if asked.
archive="$bed/bench-archive"
config="$bed/bench.toml"
awk -v path="$archive" -v conns="$connections" '
  /^\[/ {
    section = $0
    if (conns != "" && section ~ /^\[limits\]/) next
  }
  conns != "" && section ~ /^\[limits\]/ && /^[ \t]*connections[ \t]*=/ { next }
  section ~ /^\[archive\]/ && /^[ \t]*path[ \t]*=/ { print "path = \"" path "\""; next }
  { print }
  END { if (conns != "") { print "[limits]"; print "connections = " conns } }
' "$bed/mailark.toml" >"$config"

# Runs mailark once; appends "wall user sys maxrss_kib" to $2.
timed_run() {
  local label="$1" out="$2"
  if ! /usr/bin/time -f "%e %U %S %M" -o "$bed/time.$label" \
      "$mailark" run --config "$config" >"$bed/run.$label.out" 2>"$bed/run.$label.err"; then
    echo "e2e_archive: mailark run ($label) failed:" >&2
    cat "$bed/run.$label.out" "$bed/run.$label.err" >&2
    exit 1
  fi
  tail -n 1 "$bed/time.$label" >>"$out"
}

: >"$bed/full.times"
for ((i = 1; i <= repeat; i++)); do
  rm -rf "$archive"
  # Dovecot's files stay in the page cache between runs, so every run after
  # the first reads warm mail; the first run is warm too (seeding just wrote it).
  echo "run $i/$repeat: fresh archive" >&2
  timed_run "full$i" "$bed/full.times"
done
echo "incremental run (no changes)" >&2
: >"$bed/incr.times"
timed_run incr "$bed/incr.times"

# What the archive holds, from mailark's own listing: messages, bytes,
# distinct sha256. Keys are fixed ASCII, so a plain match is enough.
"$mailark" ls --json --config "$config" >"$bed/ls.json"
read -r messages bytes distinct < <(awk '
  match($0, /"sha256":"[0-9a-f]+"/) { sha = substr($0, RSTART + 10, RLENGTH - 11); seen[sha] = 1 }
  match($0, /"size":[0-9]+/)       { bytes += substr($0, RSTART + 7, RLENGTH - 7) }
  { n++ }
  END { d = 0; for (s in seen) d++; printf "%d %.0f %d\n", n, bytes, d }
' "$bed/ls.json")
objects=$(find "$archive/objects" -type f | wc -l)
stored_bytes=$(find "$archive/objects" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
fetched_line=$(grep -m1 '^fetched:' "$bed/run.full${repeat}.out" || true)
run_messages=$(sed -n 's/^fetched: *\([0-9][0-9]*\) messages.*/\1/p' <<<"$fetched_line")
if [[ "$run_messages" != "$messages" ]]; then
  echo "e2e_archive: warning: the run fetched ${run_messages:-?} messages but the archive lists $messages" >&2
fi

# "best / median" of column $2 of file $1, formatted with $3; best is the
# smallest value, or the largest when $4 is "high" (rates).
stat_of() {
  sort -g -k "$2,$2" "$1" | awk -v c="$2" -v f="$3" -v high="${4:-}" '
    { v[NR] = $c }
    END {
      best = (high == "high") ? v[NR] : v[1]
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf f, best
      if (NR > 1) { printf " / "; printf f, med }
    }'
}
# Derived per-run figures: wall, msgs/s, MiB/s, cpu, cpu/GiB, rss MiB.
awk -v m="$messages" -v b="$bytes" '{
  cpu = $2 + $3
  printf "%s %s %s %s %s %s\n", $1, ($1 > 0 ? m / $1 : 0), ($1 > 0 ? b / 1048576 / $1 : 0),
         cpu, (b > 0 ? cpu / (b / 1073741824) : 0), $4 / 1024
}' "$bed/full.times" >"$bed/derived"

label="value"
[[ "$repeat" -gt 1 ]] && label="best / median of $repeat runs (best: lowest time, highest rate)"
conn_text="${connections:-default (16)}"
printf '\nmailark e2e archive benchmark (%s)\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '  %-28s %s\n' "mailboxes" "$mailboxes" \
  "connections" "$conn_text" \
  "messages" "$messages" \
  "fetched" "$(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" \
  "figures" "$label" \
  "wall seconds" "$(stat_of "$bed/derived" 1 %.2f)" \
  "messages/s" "$(stat_of "$bed/derived" 2 %.0f high)" \
  "MiB/s" "$(stat_of "$bed/derived" 3 %.1f high)" \
  "CPU seconds (user+sys)" "$(stat_of "$bed/derived" 4 %.2f)" \
  "CPU seconds per GiB" "$(stat_of "$bed/derived" 5 %.1f)" \
  "peak RSS MiB" "$(stat_of "$bed/derived" 6 %.1f)" \
  "incremental run wall s" "$(awk '{ printf "%.2f", $1 }' "$bed/incr.times")" \
  "incremental run CPU s" "$(awk '{ printf "%.2f", $2 + $3 }' "$bed/incr.times")" \
  "distinct objects" "$objects (of $messages messages; $distinct distinct sha256 in the state)" \
  "stored bytes" "$(awk -v s="$stored_bytes" -v b="$bytes" 'BEGIN { printf "%.1f MiB (%.0f%% of fetched)", s / 1048576, (b > 0 ? 100 * s / b : 0) }')"
