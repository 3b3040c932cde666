#!/usr/bin/env bash
# Sets up, builds, and shows what Mailsift reads in the bundled sample messages (corpus/samples).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product mailsift >&2
.build/release/mailsift parse --max-text 400 corpus/samples "$@"
