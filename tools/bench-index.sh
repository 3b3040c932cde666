#!/usr/bin/env bash
# The index benchmark of issue #4 on real mail: indexes the unpacked enron-inbox and
# lkml-linux-btrfs (release build, fresh data directory each run), then compacts, and prints
# per corpus: msg/s (the indexer's own figure, best of RUNS), user+sys CPU seconds, peak
# RssAnon against the RAM budget, and the index size by file kind against the raw mail.
# Usage: tools/bench-index.sh [RUNS] (default 3); MAILSIFT_RAM_BUDGET (MiB, default 64);
# THREADS (parse and analysis threads, default: one per core).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
runs=${1:-3}
budget=${MAILSIFT_RAM_BUDGET:-64}
swift build -c release --product mailsift >&2
bin=$PWD/.build/release/mailsift
source tools/corpus-cache.sh
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

for corpus in enron-inbox lkml-linux-btrfs; do
  src="$cache/$corpus"
  raw=$(du -sb "$src" | cut -f1)
  echo "== $corpus ($raw bytes of mail)"
  for run in $(seq "$runs"); do
    rm -rf "$data/ix"
    /usr/bin/time -f "  cpu: %U s user, %S s sys" tools/peak-memory.sh "$bin" index --data "$data/ix" --user bench \
      --ram-budget "$budget" --threads "${THREADS:-$(nproc)}" "$src" 2>&1 | sed "s/^/  run $run: /"
    echo
  done
  tools/peak-memory.sh "$bin" compact --data "$data/ix" --user bench 2>&1 | sed 's/^/  /'
  echo
  "$bin" stats --data "$data/ix" --user bench | awk -v raw="$raw" '
    /^  (terms|docs|pos|stored|values): / { n = $2 + 0; sub(":", "", $1); size[$1] = n; print; next }
    /catalog:/ { cat = $2 + 0; print; next }
    { print }
    END {
      rest = size["terms"] + size["docs"] + size["pos"] + size["values"]
      printf "  stored text: %.1f%% of the mail; the rest: %.1f%% (%.1f%% with the catalog)\n",
        100 * size["stored"] / raw, 100 * rest / raw, 100 * (rest + cat) / raw
    }'
done
