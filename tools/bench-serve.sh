#!/usr/bin/env bash
# The daemon's load benchmark (issue #6): indexes lkml-linux-btrfs (50,000 messages) into a
# fresh data directory, starts `mailsift serve` on a Unix socket, and runs `mailsift load`:
# 8 clients searching for words over the socket for SECONDS while another client keeps adding
# messages (enron-inbox, 50/s: indexing continues throughout). Prints searches/s and latency
# percentiles per query kind, and errors (must be 0). Each kind runs twice: closed loop (every
# client sends its next search when the last is answered: the saturation throughput, where
# latency is clients / throughput) and open loop at RATE searches/s offered (each search is
# due at a fixed time and its latency counts from then: the latency a steady load sees).
# Stops the daemon by PID.
# Usage: tools/bench-serve.sh [SECONDS] (default 20); CLIENTS (default 8), ADD_RATE (default 50),
# RATE (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
seconds=${1:-20}
clients=${CLIENTS:-8}
rate=${ADD_RATE:-50}
offered=${RATE:-2000}
swift build -c release --product mailsift >&2
bin=$PWD/.build/release/mailsift
source tools/corpus-cache.sh
data=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
"$bin" index --data "$data" --user lkml "$cache/lkml-linux-btrfs" --compact | sed 's/^/index: /'
"$bin" serve --data "$data" --socket "$data/s.sock" --log-level warning &
pid=$!
for _ in $(seq 100); do [ -S "$data/s.sock" ] && break; sleep 0.1; done
# A short warm-up (the first seconds open readers and run the first merges).
"$bin" load --socket "$data/s.sock" --user lkml --clients "$clients" --seconds 3 >/dev/null || true
for kind in webmail webmail-get imap snippets; do
  echo "== $kind"
  "$bin" load --socket "$data/s.sock" --user lkml --clients "$clients" --seconds "$seconds" --kind "$kind" \
    --add-from "$cache/enron-inbox/maildir" --add-rate "$rate" || echo "(errors above)"
  [ "$kind" = webmail ] || [ "$kind" = webmail-get ] || continue
  "$bin" load --socket "$data/s.sock" --user lkml --clients "$clients" --seconds "$seconds" --kind "$kind" \
    --rate "$offered" --add-from "$cache/enron-inbox/maildir" --add-rate "$rate" || echo "(errors above)"
done
