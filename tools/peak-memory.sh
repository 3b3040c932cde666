#!/usr/bin/env bash
# Runs a command and reports its peak anonymous memory (RssAnon, sampled every 20 ms: the
# heap, not the page cache of mapped index files) and peak RSS (VmHWM, mappings included).
# Usage: tools/peak-memory.sh mailsift index --data /tmp/ix --user u SOURCE
set -u
"$@" &
pid=$!
peak=0
hwm=0
# Bash builtins only in the loop (no awk per sample), so the sampler barely competes with
# the measured process for the CPU.
while kill -0 "$pid" 2>/dev/null; do
    while read -r key value _; do
        case $key in
            RssAnon:) (( value > peak )) && peak=$value ;;
            VmHWM:) (( value > hwm )) && hwm=$value ;;
        esac
    done < "/proc/$pid/status" 2>/dev/null
    sleep 0.05
done
wait "$pid"
rc=$?
echo "peak RssAnon: $((peak / 1024)) MiB; peak RSS (VmHWM): $((hwm / 1024)) MiB; exit $rc" >&2
exit $rc
