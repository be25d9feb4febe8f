#!/usr/bin/env bash
# Installs the Debian packages the tests need that a fresh machine may lack, or says at once which are missing
# and how to get them. A green `make test` never skips a test for want of a package.
#
#   chromium  the dashboard test drives headless Chromium (ROLLGUARD_CHROMIUM overrides /usr/bin/chromium)
#   git       `rollguard change-metrics` is tested on a real repository
#   openssl   the Prometheus client's TLS test makes a self-signed certificate
#
# Prometheus is not here: hack/install-prometheus.sh unpacks it into the tools cache without installing it.
set -euo pipefail

missing=()
chromium=${ROLLGUARD_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || missing+=(chromium)
command -v git >/dev/null || missing+=(git)
command -v openssl >/dev/null || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "make test needs these packages, which are not installed: ${missing[*]}" >&2
  echo "Install them (on Debian or Ubuntu: sudo apt-get install ${missing[*]})," >&2
  [ -x "$chromium" ] || echo "or point ROLLGUARD_CHROMIUM at a Chromium or Chrome binary." >&2
  exit 1
fi
echo "[system-packages] installing Debian's ${missing[*]} (needed by the tests)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/rollguard-apt.log 2>&1; then
  apt-get update >>/tmp/rollguard-apt.log 2>&1
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/rollguard-apt.log 2>&1; then
    echo "Could not install ${missing[*]} with apt-get. Its last lines:" >&2
    tail -n 8 /tmp/rollguard-apt.log | sed 's/^/    /' >&2
    exit 1
  fi
fi
