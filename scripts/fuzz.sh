#!/usr/bin/env bash
# Builds the libFuzzer target for the IMAP response parser with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for SECONDS (default 60)
# over the seed corpus in tests/fuzz/corpus plus the shared IMAP vectors.
# Exit non-zero when the fuzzer finds a crash, a sanitizer report or a
# chunking-dependent result.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out="${MAILARK_FUZZ_DIR:-build-fuzz}"
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing: apt-get install clang libclang-rt-14-dev" >&2; exit 2; }
mkdir -p "$out/corpus"
sources=(tests/fuzz/response_parser_fuzz.cc src/imap/response_parser.cc src/imap/tokenizer.cc src/base/status.cc src/base/log.cc)
bin="$out/response_parser_fuzz"
if [ ! -x "$bin" ] || [ -n "$(find "${sources[@]}" src/imap/*.h include/mailark/status.h -newer "$bin")" ]; then
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I include -I . "${sources[@]}" -o "$bin"
fi
seeds=(tests/fuzz/corpus/response_parser)
shared=../shared/vectors/imap
for d in "$shared"/mailkit "$shared"/tokio-imap-imap-proto "$shared"/imap-codec "$shared"/rust-imap "$shared"/go-imap; do
  [ -d "$d" ] && seeds+=("$d")
done
# New inputs go to $out/corpus (first dir); the seed dirs are only read.
"$bin" "$out/corpus" "${seeds[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then echo "fuzz: FAILED (artifacts in $out/)" >&2; fi
exit "$status"
