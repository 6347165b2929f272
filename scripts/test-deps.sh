#!/usr/bin/env bash
# Installs the real servers and clients the integration tests drive (Debian packages), if missing.
# Idempotent; needs root (or passwordless sudo). Never starts the system's own services.
set -euo pipefail
pkgs=(dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix swaks openssl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
echo "installing test dependencies: ${missing[*]}" >&2
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# policy-rc.d keeps the packages' own daemons from starting system-wide
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
