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
  "initdb:postgresql"  # the postgres tests start real servers (initdb, postgres, pg_basebackup)
)

# Found on PATH, or (for PostgreSQL, which Debian keeps off PATH) in /usr/lib/postgresql/*/bin.
have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null
}

missing=()
for pair in "${required[@]}"; do
  have "${pair%%:*}" || missing+=("${pair#*:}")
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
