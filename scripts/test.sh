#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds, and runs every test: unit tests and the
# integration tests against a real Dovecot and the fake Entra endpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1800
