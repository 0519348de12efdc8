#!/usr/bin/env bash
# Installs what the tests need on Debian 12 (Node 20 present): Debian packages when
# missing, then the npm dependencies. Safe to run again; installs nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium fonts-liberation kamailio kamailio-websocket-modules kamailio-autheph-modules kamailio-tls-modules kamailio-utils-modules postgresql coturn rtpengine-daemon haproxy sip-tester baresip strace)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm dependencies: a clean install from the lockfile when node_modules is missing or older than it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
