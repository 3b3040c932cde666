#!/usr/bin/env bash
# Runs the fuzz targets (libFuzzer + AddressSanitizer): tools/fuzz/README.md.
# Usage: tools/fuzz/run.sh TARGET|all [SECONDS]   (SECONDS per target, default 60; FUZZ_SEED=N
#        for libFuzzer's -seed, as CI does)
#        tools/fuzz/run.sh replay                 (every regression input under ASan, once)
# Builds .build-fuzz/release/mailsift-fuzz (-DFUZZING -sanitize=fuzzer,address), seeds each
# target from its built-in inputs, tools/fuzz/make-seeds.py and ../shared/corpus, keeps the
# growing corpus in tools/fuzz/work/TARGET/corpus (not in git), and copies every crash, leak
# or timeout to tools/fuzz/work/TARGET/ (add it to regressions/TARGET/ once fixed).
# Appends one line per target to tools/fuzz/work/report.tsv: target, seconds, executions,
# execs/s, coverage at start and end, features, corpus size, findings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
[ -n "${MAILSIFT_SETUP_DONE:-}" ] || source tools/setup.sh
what=${1:-all}
seconds=${2:-60}
targets="message document charset html attachment analysis imap webmail solr search http segment catalog archive"
swift build -c release --build-path .build-fuzz --product mailsift-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING >&2
bin=$root/.build-fuzz/release/mailsift-fuzz
work=$here/work
mkdir -p "$work"
# The Swift runtime's backtracer would hide where a trap happened from libFuzzer and ASan.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:handle_abort=1}
shared=$(cd "$root/.." && pwd)/shared/corpus

seeds=$work/seeds
# (Re)writes the seeds when any target lacks them, e.g. a target added since the last run;
# writing is idempotent (files are named by target and index).
missing=0
for t in $targets; do [ -d "$seeds/$t" ] || missing=1; done
if [ "$missing" = 1 ]; then
  MAILSIFT_FUZZ_WRITE_SEEDS=$seeds MAILSIFT_FUZZ_TARGET=message "$bin" -runs=0 >/dev/null 2>&1 || true
  python3 "$here/make-seeds.py" "$seeds" "$shared"
fi

maxlen() {
  case $1 in
    imap|webmail|search) echo 2048 ;;
    charset|analysis|solr) echo 8192 ;;
    http|html) echo 16384 ;;
    *) echo 65536 ;;
  esac
}

# The daemon's thread pools keep objects behind pointers whose spare bits hold enum tags,
# which LeakSanitizer cannot follow: for http it would report them on every input.
leaks_for() { [ "$1" = http ] && echo 0 || echo 1; }
asan_for() { [ "$(leaks_for "$1")" = 0 ] && echo "${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" || echo "$ASAN_OPTIONS"; }

if [ "$what" = replay ]; then
  status=0
  for t in $targets; do
    dir=$here/regressions/$t
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
    if ASAN_OPTIONS=$(asan_for "$t") MAILSIFT_FUZZ_TARGET=$t "$bin" -runs=1 -detect_leaks="$(leaks_for "$t")" "$dir"/* \
        >"$work/replay-$t.log" 2>&1; then
      echo "replay $t: $(ls "$dir" | wc -l) inputs ok"
    else
      echo "replay $t: FAILED (see $work/replay-$t.log)"; status=1
    fi
  done
  exit $status
fi

[ "$what" = all ] || targets=$what
found=0
for t in $targets; do
  mkdir -p "$work/$t/corpus" "$here/regressions/$t"
  dict=()
  for d in "$here/dict/$t.dict"; do [ -f "$d" ] && dict=(-dict="$d"); done
  log=$work/$t/last.log
  echo "== $t: $seconds s" >&2
  ASAN_OPTIONS=$(asan_for "$t") MAILSIFT_FUZZ_TARGET=$t "$bin" "$work/$t/corpus" "$seeds/$t" "$here/regressions/$t" "${dict[@]}" \
    -max_total_time="$seconds" -max_len="$(maxlen "$t")" -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2048 \
    -artifact_prefix="$work/$t/" -print_final_stats=1 -close_fd_mask=3 -detect_leaks="$(leaks_for "$t")" ${FUZZ_SEED:+-seed=$FUZZ_SEED} >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  cov0=$( (grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$log" || true) | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  last=$( (grep -E '^#[0-9]+[[:space:]]' "$log" || true) | tail -1)
  cov1=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft1=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corpus=$(ls "$work/$t/corpus" | wc -l)
  findings=$(ls "$work/$t" | grep -c -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
  # A run that executed nothing (no seeds, a target that cannot start) is a failure too.
  if [ "${execs:-0}" = 0 ]; then
    echo "$t: no executions (see $log)" >&2; tail -3 "$log" >&2; findings=$((findings + 1))
  fi
  found=$((found + findings))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-0}" "${rate:-0}" "${cov0:-?}" "${cov1:-?}" "${ft1:-?}" \
    "$corpus" "$findings" | tee -a "$work/report.tsv"
  if [ "$findings" != 0 ]; then grep -m3 -E 'ERROR|Fatal|fuzz invariant|deadly signal' "$log" >&2 || true; fi
done
exit $((found > 0 ? 1 : 0))
