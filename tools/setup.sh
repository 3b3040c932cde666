#!/usr/bin/env bash
# Installs what Mailsift needs on Debian 12 (and derivatives). As root it runs apt-get;
# otherwise it prints the one apt line to run. Safe to run again: it installs only what is missing.
set -euo pipefail

# dovecot-imapd and dovecot-solr: the end-to-end test runs a private Dovecot against the daemon
# (the packages' own service is not started in containers; the test starts its instances on 127.0.0.1).
# python3: tools (fuzz seeds, torture, Dovecot end-to-end).
packages=(libicu-dev liblz4-dev libsqlite3-dev poppler-utils zstd pkg-config dovecot-imapd dovecot-solr python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && export PATH="$d:$PATH"
  done
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6.1 or newer is needed (https://www.swift.org/install/linux/)" >&2; exit 1; }
