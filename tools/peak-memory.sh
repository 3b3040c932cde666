#!/usr/bin/env bash
# Runs a command and reports its peak anonymous memory (RssAnon, sampled every 20 ms: the
# heap, not the page cache of mapped index files) and peak RSS (VmHWM, mappings included).
# Usage: tools/peak-memory.sh mailsift index --data /tmp/ix --user u SOURCE
set -u
"$@" &
pid=$!
peak=0
hwm=0
while kill -0 "$pid" 2>/dev/null; do
    if [[ -r /proc/$pid/status ]]; then
        anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        h=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [[ -n "${anon:-}" && "$anon" -gt "$peak" ]] && peak=$anon
        [[ -n "${h:-}" && "$h" -gt "$hwm" ]] && hwm=$h
    fi
    sleep 0.02
done
wait "$pid"
rc=$?
echo "peak RssAnon: $((peak / 1024)) MiB; peak RSS (VmHWM): $((hwm / 1024)) MiB; exit $rc" >&2
exit $rc
