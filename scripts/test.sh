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
  "openssl:openssl"    # signing tests verify a signature with OpenSSL, as docs/signing.md shows; legacy_tls tests start openssl s_server
  "python3:python3"    # the independent verifiers (securesystemslib, junitparser)
  "chromium:chromium"  # the HTML report is checked in a real headless browser
  "redis-server:redis-server"  # the redis probe tests start real servers (tests/it/support/redis.rs)
  "initdb:postgresql"  # the postgres tests start real servers (initdb, postgres, pg_basebackup)
  "jq:jq"              # the pgBackRest and restic examples in docs/backups.md use jq
  "gzip:gzip"          # backup restore-test tests run gzip -t
  "gpg:gnupg"          # the backup.encrypted test encrypts a backup with GnuPG
  "time:time"          # hostile-server tests and bench/ measure peak RSS with GNU time
  "git:git"            # secrets_scan git = "head"/"history" tests make repositories
  "pg_restore:postgresql-client"  # backup pg_dump_ok tests read a real dump
  "sshd:openssh-server"  # fleet tests start real OpenSSH servers in mount namespaces (tests/it/support/sshd.rs)
  "ssh:openssh-client"   # golive reaches targets with the system's ssh; the tests make keys with ssh-keygen
  "unshare:util-linux"   # each test sshd runs in its own mount namespace
  "objcopy:binutils"     # the fleet tests copy a golive without debug information to targets
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
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# Python packages for the independent checks: DSSE envelopes verified with securesystemslib,
# JUnit XML parsed with junitparser, JSON reports checked against docs/report.schema.json.
if ! python3 -c 'import securesystemslib.dsse, cryptography, junitparser, jsonschema' >/dev/null 2>&1; then
  echo "installing: securesystemslib[crypto] junitparser jsonschema (pip)"
  python3 -m pip --version >/dev/null 2>&1 || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip
  }
  python3 -m pip install --quiet --disable-pip-version-check 'securesystemslib[crypto]>=1.0' 'junitparser>=3' 'jsonschema>=4' ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'securesystemslib[crypto]>=1.0' 'junitparser>=3' 'jsonschema>=4'
fi

# Checklists and check files are validated against docs/*.schema.json by check-jsonschema,
# and by taplo (the engine of the Even Better TOML editor extension; a prebuilt wheel).
if ! python3 -m check_jsonschema --version >/dev/null 2>&1 || ! command -v taplo >/dev/null 2>&1; then
  echo "installing: check-jsonschema taplo (pip)"
  python3 -m pip --version >/dev/null 2>&1 || {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip
  }
  python3 -m pip install --quiet --disable-pip-version-check 'check-jsonschema>=0.29' 'taplo>=0.9' ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'check-jsonschema>=0.29' 'taplo>=0.9'
fi

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
