#!/usr/bin/env bash
# Installs what mailark needs on Debian 12 (apt-get) and builds it into build/.
# Idempotent: packages already present are not reinstalled; the build is incremental.
#   MAILARK_BUILD_TYPE=Debug|Release (default Release)   MAILARK_SANITIZE=ON for ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libuv1-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libzstd-dev libsimdjson-dev
  libtomlplusplus-dev libcli11-dev libgtest-dev libbenchmark-dev
  dovecot-imapd dovecot-pop3d dovecot-auth-lua python3 python3-cryptography
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The test bed runs its own private Dovecot; the system one is not needed.
  if command -v systemctl >/dev/null && systemctl is-active --quiet dovecot 2>/dev/null; then
    $sudo systemctl disable --now dovecot >/dev/null 2>&1 || true
  fi
fi

build_type="${MAILARK_BUILD_TYPE:-Release}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DMAILARK_SANITIZE="${MAILARK_SANITIZE:-OFF}" >/dev/null
ninja -C build -j"$(nproc)"
