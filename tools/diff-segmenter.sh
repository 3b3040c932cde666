#!/usr/bin/env bash
# Differential check of the word segmenter: WordSegmenter.segments(utf8:) (ASCII fast path
# wherever the text is ASCII) against ICU alone, over every file of the Enron and LKML archives,
# with a release build. Prints files/bytes compared and the first mismatches; exits non-zero on
# any. The archives are unpacked once into a cache directory (default /tmp/mailsift-corpus).
# Extra directories to compare can be given as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
shared=${MAILSIFT_SHARED_CORPUS:-../shared/corpus}
cache=${MAILSIFT_CORPUS_CACHE:-/tmp/mailsift-corpus}

mkdir -p "$cache"
if [ ! -d "$cache/enron-inbox" ]; then
  [ -d "$shared" ] || { echo "diff-segmenter: $shared not found" >&2; exit 1; }
  echo "unpacking enron-inbox into $cache" >&2
  tar -xf "$shared/enron-inbox/enron-inbox.tar.zst" -C "$cache"
fi
if [ ! -d "$cache/lkml-linux-btrfs" ]; then
  [ -d "$shared" ] || { echo "diff-segmenter: $shared not found" >&2; exit 1; }
  echo "unpacking lkml-linux-btrfs into $cache" >&2
  for f in "$shared"/lkml-linux-btrfs/*.tar.zst; do tar -xf "$f" -C "$cache"; done
fi

# The test uses @testable import (it calls ICU directly through an internal method), which a
# release build allows only when compiled with -enable-testing.
swift build -c release --build-tests -Xswiftc -enable-testing >&2
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for dir in "$cache/enron-inbox" "$cache/lkml-linux-btrfs" "$@"; do
  echo "== $(basename "$dir")"
  if ! MAILSIFT_DIFF_CORPUS="$dir" swift test -c release --skip-build \
      --filter 'ASCIIWordSegmenterTests/diffCorpusMatchesICU' >"$log" 2>&1; then
    status=1
  fi
  # The test prints its own "diff-segmenter:" summary and mismatch lines.
  grep -E '^diff-segmenter:|✘' "$log" | cut -c1-600 || { echo "diff-segmenter: no report; test log:"; tail -20 "$log"; status=1; }
done
exit $status
