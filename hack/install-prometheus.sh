#!/usr/bin/env bash
# Puts Debian's Prometheus server and promtool in the tools cache and prints the folder holding them.
#
# Why Debian's package rather than a build from Prometheus's Go module: it is one download from a registry
# these machines reach, it carries promtool (needed for `promtool check metrics`), its web UI assets are
# already built (a Go-module build would need Prometheus's npm front-end build as well), and the query API
# rollguard uses has been stable since long before 2.42. The package is unpacked into the cache, not
# installed, so nothing on the system changes and no service is started.
set -euo pipefail

tools_dir=${ROLLGUARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard/tools}
if [ -n "${ROLLGUARD_PROMETHEUS_BIN:-}" ]; then
  dirname "$(command -v "$ROLLGUARD_PROMETHEUS_BIN")"
  exit 0
fi

version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^  Candidate: //p')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[install-prometheus] refreshing Debian's package lists" >&2
    apt-get update >/dev/null
    version=$(apt-cache policy prometheus | sed -n 's/^  Candidate: //p')
  fi
fi
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  echo "Cannot find Debian's prometheus package: run 'apt-get update' as root, or set ROLLGUARD_PROMETHEUS_BIN to a prometheus binary." >&2
  exit 1
fi

out="$tools_dir/prometheus-${version//[^A-Za-z0-9.+-]/_}"
if [ -x "$out/usr/bin/prometheus" ] && [ -x "$out/usr/bin/promtool" ]; then
  echo "$out/usr/bin"
  exit 0
fi
echo "[install-prometheus] unpacking Debian's prometheus $version into $out" >&2
work=$(mktemp -d) && chmod 755 "$work"  # apt downloads as the _apt user
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "prometheus=$version" >/dev/null)
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
dpkg-deb -x "$work"/prometheus_*.deb "$out.tmp"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out/usr/bin"
