#!/usr/bin/env bash
# Runs integration tests and then checks that they left no server running and no server
# directory behind: the redis-server, PostgreSQL and openssl s_server processes the harness starts
# (tests/it/support/reaper.rs) must all be gone when `cargo test` returns, also those kept in
# statics and those of failed tests.
#
#     scripts/check-no-leftovers.sh                    # cargo test --test it redis::
#     scripts/check-no-leftovers.sh redis:: postgres:: # tests whose names match (several runs)
#     scripts/check-no-leftovers.sh ""                 # the whole integration-test binary
#
# Every server of this run has GOLIVE_TEST_SERVER_TAG in its directory's name and so in its
# command line, so servers of other test runs on the same machine do not count.
# Exit status: 0 nothing left, 1 something left (listed), else that of cargo test.
set -uo pipefail
cd "$(dirname "$0")/.."

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(redis::)
tag="leftover-check-$$-$RANDOM"
export GOLIVE_TEST_SERVER_TAG="$tag"

args=(--test it)
status=0
for t in "${tests[@]}"; do cargo test --test it -- "$t" || status=$?; done
args+=("${tests[@]}")
# A test run that fails still must not leave servers behind: check either way.

left=0
if pgrep -af -- "golive-(redis|pg|openssl)-$tag-" >/dev/null; then
  echo "LEFT RUNNING after cargo test ${args[*]}:" >&2
  pgrep -af -- "golive-(redis|pg|openssl)-$tag-" >&2
  left=1
fi
tmp=${TMPDIR:-/tmp}
shopt -s nullglob
dirs=("$tmp"/golive-redis-"$tag"-* "$tmp"/golive-openssl-"$tag"-* /tmp/golive-pg-"$tag"-*)
if [ ${#dirs[@]} -gt 0 ]; then
  echo "LEFT BEHIND after cargo test ${args[*]}:" >&2
  printf '  %s\n' "${dirs[@]}" >&2
  left=1
fi
if [ $left -eq 0 ]; then
  echo "no leftovers: no server process or directory tagged $tag"
  exit "$status"
fi
exit 1
