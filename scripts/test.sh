#!/usr/bin/env bash
# The test command (README: "Run the tests"). On a fresh Debian machine with the Rust
# toolchain it installs the system packages the tests need, then runs formatting, lint
# and the whole test suite. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# command the tests need -> Debian package that provides it
required=(
  "cc:gcc"             # the ring crypto crate builds C code
  "sh:dash"            # command-probe tests run shell scripts
  "jq:jq"              # the pgBackRest and restic examples in docs/backups.md use jq
  "gzip:gzip"          # backup restore-test tests run gzip -t
  "pg_restore:postgresql-client"  # backup pg_dump_ok tests read a real dump
  "python3:python3"    # the Python plugin example in docs/plugins.md
)

missing=()
for pair in "${required[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
