#!/usr/bin/env bash
# Sourced by the benchmark scripts: sets $shared (../shared/corpus) and $cache (where the
# enron-inbox and lkml-linux-btrfs archives are unpacked once; default /tmp/mailsift-corpus)
# and unpacks them there if needed.
shared=${MAILSIFT_SHARED_CORPUS:-../shared/corpus}
cache=${MAILSIFT_CORPUS_CACHE:-/tmp/mailsift-corpus}
[ -d "$shared" ] || { echo "$shared not found (the shared corpus)" >&2; exit 1; }
mkdir -p "$cache"
if [ ! -d "$cache/enron-inbox" ]; then
  echo "unpacking enron-inbox into $cache" >&2
  tar -xf "$shared/enron-inbox/enron-inbox.tar.zst" -C "$cache"
fi
if [ ! -d "$cache/lkml-linux-btrfs" ]; then
  echo "unpacking lkml-linux-btrfs into $cache" >&2
  for f in "$shared"/lkml-linux-btrfs/*.tar.zst; do tar -xf "$f" -C "$cache"; done
fi
