#!/usr/bin/env bash
# Crash torture (issue #8; tools/torture.py says what it checks): the daemon under continuous
# adds and searches, killed with SIGKILL at random moments, for SECONDS (default 300).
# Usage: tools/torture.sh [SECONDS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${MAILSIFT_SETUP_DONE:-}" ] || source tools/setup.sh
swift build -c release --product mailsift >&2
exec python3 tools/torture.py --mailsift "$PWD/.build/release/mailsift" --seconds "${1:-300}" ${2:+--seed "$2"}
