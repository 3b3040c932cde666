#!/usr/bin/env bash
# The bulk-reindex scale test (issue #7): a synthetic mail server of USERS × MESSAGES
# (default 1,000 × 1,000, tools/gen-mail.py, Dovecot layout), reindexed by `mailsift reindex`
# on one core (taskset, --jobs 1) and on two (--jobs 2) into fresh data directories. Prints
# messages/s, MB/s, wall and CPU seconds, peak memory (RSS) and the index size, and checks a
# sample of users with `mailsift verify`.
# Usage: tools/scale-test.sh        (USERS, MESSAGES, SCALE_ROOT=/tmp/mailsift-scale to change)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
users=${USERS:-1000}
messages=${MESSAGES:-1000}
root=${SCALE_ROOT:-/tmp/mailsift-scale}
[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; } || { echo "install the time package (GNU time)" >&2; exit 1; }
swift build -c release --product mailsift >&2
bin=$PWD/.build/release/mailsift
mail=$root/mail-$users-$messages
if [ ! -e "$mail/.complete" ]; then
  rm -rf "$mail"
  python3 tools/gen-mail.py "$mail" --users "$users" --messages "$messages" --corpus "${MAILSIFT_SHARED_CORPUS:-../shared/corpus}"
  touch "$mail/.complete"
fi
mailbytes=$(du -sb "$mail" | cut -f1)
echo "mail: $users users × $messages messages, $((mailbytes / 1000000)) MB in $mail"
for jobs in 1 2; do
  data=$root/data-$jobs
  rm -rf "$data"
  pin=()
  [ "$jobs" = 1 ] && pin=(taskset -c 0)
  /usr/bin/time -v -o "$root/time-$jobs.txt" "${pin[@]}" "$bin" reindex --data "$data" --users-root "$mail" --jobs "$jobs" \
    --json --progress-interval 60 > "$root/reindex-$jobs.json"
  python3 - "$root/reindex-$jobs.json" "$root/time-$jobs.txt" "$jobs" "$mailbytes" "$(du -sb "$data" | cut -f1)" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read()
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) // 1024
jobs, mail, index = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = r["seconds"]
print(f"jobs {jobs}{' (1 core)' if jobs == '1' else ' (2 cores)'}: {len(r['users'])} users, {r['added']} messages in {s:.0f} s: "
      f"{r['added'] / s:.0f} msg/s, {r['bytes'] / 1e6 / s:.1f} MB/s; CPU {cpu:.0f} s; peak RSS {rss} MiB; "
      f"index {index / 1e6:.0f} MB ({100 * index / mail:.1f}% of the mail); all done: {r['ok']}")
PY
done
# A sample of users verified (checksums, catalog and index agree).
for u in user00000 user00500 user00999; do
  [ -d "$mail/$u" ] && "$bin" verify --data "$root/data-2" --user "$u"
done
