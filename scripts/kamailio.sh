#!/usr/bin/env bash
# Kamailio for Verified Desk (deploy/kamailio/kamailio.cfg): install it, check the
# configuration, or run it in the foreground (what the tests and the bench do).
#
#   scripts/kamailio.sh install                     Debian packages, when missing (root or sudo)
#   scripts/kamailio.sh check [NAME=VALUE ...]      kamailio -c on the configuration
#   scripts/kamailio.sh run RUNDIR [NAME=VALUE ...] foreground; pid file and control
#                                                   socket in RUNDIR; logs on stderr
#
# NAME=VALUE pairs become -A defines (see deploy/kamailio/README.md): numbers and
# addresses as they are (WS_PORT=8080, LISTEN_IP=127.0.0.1), strings quoted by this
# script (SIP_DOMAIN, SIP_SECRET, TLS_CERT, TLS_KEY, RTPENGINE_SOCK, TRUNK_ALLOW,
# TRUNK_OUTBOUND, AUTHORITY_URL ...; `run` sets
# CTL_SOCKET itself).
# The VD_* environment variables the configuration reads work too, and keep the
# secret off the command line: VD_SIP_SECRET=... scripts/kamailio.sh run /tmp/kam
# `run` execs Kamailio, so the caller's child pid is Kamailio's main process:
# SIGTERM to it stops every Kamailio process.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CFG="${VD_KAMAILIO_CFG:-$ROOT/deploy/kamailio/kamailio.cfg}"
PACKAGES=(kamailio kamailio-websocket-modules kamailio-autheph-modules kamailio-tls-modules kamailio-utils-modules)
KAMAILIO="${VD_KAMAILIO_BIN:-/usr/sbin/kamailio}"

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      echo "kamailio.sh: missing Debian packages ${missing[*]}; install them as root" >&2
      exit 1
    fi
  fi
  echo "kamailio.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# NAME=VALUE pairs to -A options (quoting string-valued defines).
defines=()
to_defines() {
  local kv name value
  for kv in "$@"; do
    case "$kv" in
      *=*) ;;
      *) defines+=(-A "$kv"); continue ;; # a bare flag such as WITH_SOMETHING
    esac
    name="${kv%%=*}"
    value="${kv#*=}"
    case "$name" in
      SIP_DOMAIN | SIP_SECRET | TLS_CERT | TLS_KEY | CTL_SOCKET | RTPENGINE_SOCK | TRUNK_ALLOW | DMQ_SELF | DMQ_PEER | DMQ_ALLOW | AUTHORITY_URL | SIP_SERVER_SECRET | CONTROL_URL | TRUNK_OUTBOUND)
        case "$value" in *'"'*)
          echo "kamailio.sh: $name must not contain a double quote" >&2
          exit 2
          ;;
        esac
        defines+=(-A "$name=\"$value\"")
        ;;
      *) defines+=(-A "$name=$value") ;;
    esac
  done
}

cmd="${1:-}"
shift || true
case "$cmd" in
  install)
    install_packages
    ;;
  check)
    install_packages
    to_defines "$@"
    # The check must not depend on /run/kamailio existing.
    exec "$KAMAILIO" -c -f "$CFG" -A 'CTL_SOCKET="unix:/tmp/kamailio-check-ctl"' "${defines[@]}"
    ;;
  run)
    rundir="${1:?usage: kamailio.sh run RUNDIR [NAME=VALUE ...]}"
    shift
    install_packages
    mkdir -p "$rundir"
    to_defines "CTL_SOCKET=unix:$rundir/kamailio_ctl" "$@"
    exec "$KAMAILIO" -f "$CFG" -DD -E -m 64 -M 8 -Y "$rundir" -P "$rundir/kamailio.pid" "${defines[@]}"
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
