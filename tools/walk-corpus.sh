#!/usr/bin/env bash
# Parses every message of ../shared/corpus with a release build and prints totals, throughput
# (one core), defect counts by kind and the slowest messages, per corpus. The Enron and LKML
# archives are unpacked once into a cache directory (default /tmp/mailsift-corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
source tools/corpus-cache.sh
swift build -c release --product mailsift >&2
bin=.build/release/mailsift

for dir in "$shared/mime-fixtures" "$shared/spamassassin-public-corpus" "$shared/csdmc2010-spam" \
           "$cache/enron-inbox" "$cache/lkml-linux-btrfs"; do
  echo "== $(basename "$dir")"
  "$bin" parse --stats "$@" "$dir"
  echo
done
