#!/usr/bin/env bash
# The test suite under a sanitizer: tools/sanitizers.sh thread|address [swift test --filter ...]
# Builds into .build-tsan / .build-asan (apart from the normal build), runs the tests there
# (the `mailsift` binary the process tests start is instrumented too), and fails on the
# first report: a data race, a use after free, a buffer overflow, from the tests or from a
# child daemon. Without a filter every test runs; CI runs `thread` on the concurrency suites.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${MAILSIFT_SETUP_DONE:-}" ] || source tools/setup.sh
kind=${1:?usage: tools/sanitizers.sh thread|address [filter]}
shift
case $kind in
  thread) path=.build-tsan ;;
  address) path=.build-asan ;;
  *) echo "thread or address" >&2; exit 2 ;;
esac
# Reports go to a log per process as well as stderr; the exit code marks the failure.
logs=$PWD/$path/sanitizer-logs
mkdir -p "$logs"
rm -f "$logs"/*
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:log_path=$logs/tsan:${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="halt_on_error=1:exitcode=66:detect_leaks=0:log_path=$logs/asan:${ASAN_OPTIONS:-}"
swift build --build-tests --build-path "$path" --sanitize="$kind"
filter=()
[ $# -gt 0 ] && filter=(--filter "$1")
status=0
swift test --skip-build --build-path "$path" --sanitize="$kind" "${filter[@]}" || status=$?
if ls "$logs"/* >/dev/null 2>&1; then
  echo "sanitizer reports:" >&2
  for f in "$logs"/*; do echo "== $f" >&2; head -60 "$f" >&2; done
  status=1
fi
exit $status
