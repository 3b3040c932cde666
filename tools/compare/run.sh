#!/usr/bin/env bash
# Compare Mailsift with peer mail search tools on one corpus: indexing cost and query latency.
#
# Usage: run.sh CORPUS_NAME          (enron | lkml | synthetic)
# Env:   LIMIT=N          only the first N messages (sorted by path) — a quick run
#        ENGINES="..."    subset/order (default: mailsift notmuch mu dovecot-fts-xapian sqlite-fts5)
#        RUNS=20          timed CLI runs per query and engine (after one warm-up)
#        INPROC_RUNS=200  Mailsift's in-process --repeat-count
#        INDEX_RUNS=1     index each engine this many times from scratch and report the run
#                         with the median wall time (all the runs' times are kept in the notes)
#        INTERLEAVE=1     with INDEX_RUNS > 1: index in rounds, every engine once a round (the
#                         order reversed every other round), queries after the last round, so
#                         the machine's drift within the hour reaches every engine alike
#        MAILSIFT_BIN     the Mailsift binary (default: ./mailsift-bin here, else the repo's
#                         .build/release/mailsift; this script never builds it)
#        MAILSIFT_CORPUS_CACHE  where the corpora are unpacked (default /tmp/mailsift-corpus)
#        MAILSIFT_COMPACT=0     index Mailsift without --compact
#        INDEX_TIMEOUT=7200     seconds before one engine's indexing is given up (error row)
#        SKIP_INSTALL=1   do not apt-get anything
# Writes results/<corpus>[-limitN]/{meta.json,<engine>.json,report.md} and prints the report.
# Engines run one after another (never two indexers at once); a failing engine becomes an
# error row in the report and the run goes on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

corpus=${1:-}
case "$corpus" in
  enron) src_name=enron-inbox ;;
  lkml) src_name=lkml-linux-btrfs ;;
  synthetic) src_name=synthetic ;;
  *) echo "usage: $0 enron|lkml|synthetic   (env LIMIT=N for a quick run)" >&2; exit 2 ;;
esac
limit=${LIMIT:-}
engines=${ENGINES:-mailsift notmuch mu dovecot-fts-xapian sqlite-fts5}
runs=${RUNS:-20}
inproc_runs=${INPROC_RUNS:-200}
index_runs=${INDEX_RUNS:-1}
tag=$corpus${limit:+-limit$limit}
cache=${MAILSIFT_CORPUS_CACHE:-/tmp/mailsift-corpus}
src=$cache/$src_name/maildir
# synthetic: one user's Maildir (INBOX and folders) of 50,000 messages from tools/gen-mail.py,
# seed 1 (made on first use, ~5 minutes; the vocabulary comes from ../shared/corpus)
[ "$corpus" = synthetic ] && src=$cache/synthetic/tree/user00000/Maildir

log() { echo "[run.sh] $*" >&2; }

# ---- the Mailsift binary (never built here)
if [ -z "${MAILSIFT_BIN:-}" ]; then
  if [ -x "$here/mailsift-bin" ]; then MAILSIFT_BIN=$here/mailsift-bin
  else MAILSIFT_BIN=$(cd "$here/../.." && pwd)/.build/release/mailsift; fi
fi

# ---- packages
need=()
for pkg in notmuch maildir-utils dovecot-imapd dovecot-fts-xapian time sqlite3 python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "${SKIP_INSTALL:-0}" = 1 ]; then
    log "missing packages (SKIP_INSTALL=1): ${need[*]}"
  else
    log "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -q "${need[@]}" >&2
  fi
fi
# Dovecot runs the mail processes as an unprivileged system user of our own.
id mscompare >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin mscompare

# ---- the corpus
if [ "$corpus" = synthetic ] && [ ! -d "$src" ]; then
  log "generating the synthetic mailbox with tools/gen-mail.py"
  rm -rf "$cache/synthetic/tree" "$cache/synthetic/tree.tmp"
  # into a temporary tree first: an interrupted generation leaves no partial corpus behind
  python3 "$here/../gen-mail.py" "$cache/synthetic/tree.tmp" --users 1 --messages 50000 --seed 1 >&2
  mv "$cache/synthetic/tree.tmp" "$cache/synthetic/tree"
fi
if [ ! -d "$src" ] && [ -f "$here/../corpus-cache.sh" ]; then
  log "unpacking the corpora with tools/corpus-cache.sh"
  (cd "$here/../.." && MAILSIFT_CORPUS_CACHE=$cache bash -c 'source tools/corpus-cache.sh')
fi
[ -d "$src" ] || { log "corpus not found: $src"; exit 1; }

# ---- stage one Maildir (hard links) that every engine indexes
stage=$here/stage/$tag
log "staging $src -> $stage"
stage_json=$(python3 "$here/stage.py" "$corpus" "$src" "$stage" "${limit:-0}")
mail=$stage/mail
files=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["files"])' "$stage_json")
mail_bytes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$stage_json")
log "$files messages, $mail_bytes bytes of mail"

out=$here/results/$tag
mkdir -p "$out"
rm -f "$out/report.md"
for engine in $engines; do rm -f "$out/$engine.json"; done
python3 - "$out/meta.json" <<EOF
import json, os, platform, sys, time
json.dump({
  "corpus": "$corpus", "source": "$src", "limit": "${limit}" or None, "stage": "$mail",
  "files": $files, "mail_bytes": $mail_bytes,
  "mail_bytes_how": "sum of the message files' sizes (du -sb of the files, without directories)",
  "runs": $runs, "inproc_runs": $inproc_runs, "index_runs": $index_runs, "engines": "$engines".split(),
  "mailsift_bin": "$MAILSIFT_BIN",
  "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
  "kernel": platform.release(), "cpus": os.cpu_count(),
  "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
  "debian": open("/etc/debian_version").read().strip(),
}, open(sys.argv[1], "w"), indent=1)
EOF

compact=()
[ "${MAILSIFT_COMPACT:-1}" = 0 ] && compact=(--no-compact)
# INTERLEAVE: the first INDEX_RUNS - 1 rounds index every engine once (--index-only); the
# last is the usual pass, which indexes once more and counts the rounds' runs with its own.
rounds=()
if [ "${INTERLEAVE:-0}" = 1 ] && [ "$index_runs" -gt 1 ]; then
  for engine in $engines; do rm -f "$out/$engine.rounds"; done
  order=$engines
  for ((r = 1; r < index_runs; r++)); do
    for engine in $order; do
      work=$here/work/$tag/$engine
      rm -rf "$work"
      mkdir -p "$work"
      log "== $engine (round $r of $index_runs)"
      python3 "$here/bench.py" --engine "$engine" --stage "$mail" --work "$work" --out "$out" \
        --queries "$here/queries-$corpus.tsv" --mailsift-bin "$MAILSIFT_BIN" \
        --index-timeout "${INDEX_TIMEOUT:-7200}" "${compact[@]}" --index-only "$out/$engine.rounds" || true
    done
    order=$(echo $order | tr ' ' '\n' | tac | tr '\n' ' ')
  done
  engines=$order
  index_runs=1
  rounds=(yes)
fi
for engine in $engines; do
  work=$here/work/$tag/$engine
  rm -rf "$work"
  mkdir -p "$work"
  log "== $engine"
  start=$(date +%s)
  if ! python3 "$here/bench.py" --engine "$engine" --stage "$mail" --work "$work" --out "$out" \
      --queries "$here/queries-$corpus.tsv" --runs "$runs" --inproc-runs "$inproc_runs" \
      --index-runs "$index_runs" ${rounds:+--prior-runs "$out/$engine.rounds"} \
      --mailsift-bin "$MAILSIFT_BIN" --index-timeout "${INDEX_TIMEOUT:-7200}" "${compact[@]}"; then
    # bench.py records its own failures; this is for a crash of bench.py itself
    python3 -c 'import json,sys; json.dump({"engine": sys.argv[2], "error": "bench.py crashed (see the log)"}, open(sys.argv[1], "w"))' \
      "$out/$engine.json" "$engine"
  fi
  log "== $engine done in $(( $(date +%s) - start )) s"
done

python3 "$here/report.py" "$out" > "$out/report.md"
cat "$out/report.md"
log "results in $out (work dirs in $here/work/$tag; remove them to free the disk)"
