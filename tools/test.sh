#!/usr/bin/env bash
# Sets up and runs the whole test suite. Tests that use ../shared/corpus skip cleanly without it.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build --build-tests
swift test --skip-build "$@"
