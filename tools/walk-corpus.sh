#!/usr/bin/env bash
# Parses every message of ../shared/corpus with a release build and prints totals, throughput
# (one core), defect counts by kind and the slowest messages, per corpus. The Enron and LKML
# archives are unpacked once into a cache directory (default /tmp/mailsift-corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
shared=${MAILSIFT_SHARED_CORPUS:-../shared/corpus}
cache=${MAILSIFT_CORPUS_CACHE:-/tmp/mailsift-corpus}
[ -d "$shared" ] || { echo "walk-corpus: $shared not found" >&2; exit 1; }
swift build -c release --product mailsift >&2
bin=.build/release/mailsift

mkdir -p "$cache"
if [ ! -d "$cache/enron-inbox" ]; then
  echo "unpacking enron-inbox into $cache" >&2
  tar -xf "$shared/enron-inbox/enron-inbox.tar.zst" -C "$cache"
fi
if [ ! -d "$cache/lkml-linux-btrfs" ]; then
  echo "unpacking lkml-linux-btrfs into $cache" >&2
  for f in "$shared"/lkml-linux-btrfs/*.tar.zst; do tar -xf "$f" -C "$cache"; done
fi

for dir in "$shared/mime-fixtures" "$shared/spamassassin-public-corpus" "$shared/csdmc2010-spam" \
           "$cache/enron-inbox" "$cache/lkml-linux-btrfs"; do
  echo "== $(basename "$dir")"
  "$bin" parse --stats "$@" "$dir"
  echo
done
