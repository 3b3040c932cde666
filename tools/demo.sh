#!/usr/bin/env bash
# Sets up, builds, and runs Mailsift on the bundled sample messages (corpus/samples): shows
# what it reads in them, indexes them into a throwaway data directory, and searches it.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build -c release --product mailsift >&2
bin=.build/release/mailsift
data=$(mktemp -d /tmp/mailsift-demo.XXXXXX)
trap 'rm -rf "$data"' EXIT

echo "### mailsift parse corpus/samples (first lines of each document)"
"$bin" parse --max-text 200 corpus/samples > "$data/parse.txt"
head -60 "$data/parse.txt"
echo
echo "### mailsift index --data $data --user demo corpus/samples"
"$bin" index --data "$data" --user demo corpus/samples
echo
for q in 'Quartalsübersicht' 'quartalsubersicht' '"maintenance window"' '会議' 'anna.rossi@example.org' 'invoice march' \
         'from:müller OR subject:отчёт' 'has:attachment invoi*'; do
  echo "### mailsift search --user demo '$q'"
  "$bin" search --data "$data" --user demo -- "$q"
done
for q in 'BODY ntenan' 'OR SUBJECT "q3" FROM ivan NOT SEEN' 'RETURN (MIN MAX COUNT ALL) TEXT example'; do
  echo "### mailsift search --user demo --imap --mailbox INBOX '$q'"
  "$bin" search --data "$data" --user demo --imap --mailbox INBOX -- "$q"
done
echo
echo "### mailsift stats / verify"
"$bin" stats --data "$data" --user demo
"$bin" verify --data "$data" --user demo
