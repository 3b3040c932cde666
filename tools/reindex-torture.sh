#!/usr/bin/env bash
# Crash torture for bulk reindexing (issue #7; tools/reindex-torture.py says what it checks):
# `mailsift reindex` over a synthetic Dovecot tree, interrupted ROUNDS times (default 40) while
# the tree changes, then compared with a fresh single-pass index.
# Usage: tools/reindex-torture.sh [ROUNDS] [SEED] [--daemon]   (--daemon: `mailsift serve` runs on
# the same data throughout, with clients searching through it)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${MAILSIFT_SETUP_DONE:-}" ] || source tools/setup.sh
swift build -c release --product mailsift >&2
exec python3 tools/reindex-torture.py --mailsift "$PWD/.build/release/mailsift" --rounds "${1:-40}" \
  --users 8 --messages 1000 ${2:+--seed "$2"} "${@:3}"
