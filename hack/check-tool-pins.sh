#!/usr/bin/env bash
# Fails when hack/versions.env and the committed tool modules in hack/tools/ disagree. Reads files only: no
# network, no build, well under a second. `make test` runs it first so a half-done version bump is caught
# before the long build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

problems=0
fail() { printf 'tool pins: %s\n' "$*" >&2; problems=$((problems + 1)); }

# required DIR MODULE : the version DIR/go.mod requires MODULE at ("" when it does not).
required() {
  awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == "require" && $2 == "(" { inblock = 1; next }
    inblock && $1 == ")" { inblock = 0; next }
    inblock && $1 == m { print $2; exit }
  ' "$1/go.mod"
}

# replaced DIR MODULE : the version MODULE is replaced with in DIR/go.mod ("" when it is not).
replaced() {
  awk -v m="$2" '
    $1 == "replace" && $2 == m && $3 == "=>" { print $5; exit }
    $1 == "replace" && $2 == "(" { inblock = 1; next }
    inblock && $1 == ")" { inblock = 0; next }
    inblock && $1 == m && $2 == "=>" { print $4; exit }
  ' "$1/go.mod"
}

# expect TOOL MODULE VERSION_VAR : the tool's module requires MODULE at the version versions.env gives.
expect() {
  local tool=$1 module=$2 var=$3
  local dir="$here/tools/$tool" want=${!3}
  if [ ! -f "$dir/go.mod" ] || [ ! -f "$dir/go.sum" ] || [ ! -f "$dir/tools.go" ]; then
    fail "$tool: hack/tools/$tool/ needs go.mod, go.sum and tools.go; run hack/pin-tools.sh $tool"
    return
  fi
  local got; got=$(required "$dir" "$module")
  if [ "$got" != "$want" ]; then
    fail "$tool: hack/versions.env says $var=$want but hack/tools/$tool/go.mod requires $module ${got:-(nothing)}; run hack/pin-tools.sh $tool"
  fi
  if ! grep -q "^$module $want/go.mod " "$dir/go.sum"; then
    fail "$tool: hack/tools/$tool/go.sum has no checksum for $module $want; run hack/pin-tools.sh $tool"
  fi
}

expect kubernetes k8s.io/kubernetes KUBERNETES_VERSION
expect etcd go.etcd.io/etcd/server/v3 ETCD_VERSION
expect kwok sigs.k8s.io/kwok KWOK_VERSION
expect helm helm.sh/helm/v4 HELM_VERSION

# The staging modules must sit at the tag that matches the Kubernetes release, or the build mixes releases.
k8s_dir="$here/tools/kubernetes"
if [ -f "$k8s_dir/go.mod" ]; then
  staging="v0.${KUBERNETES_VERSION#v1.}"
  for mod in k8s.io/api k8s.io/apimachinery k8s.io/apiserver k8s.io/client-go k8s.io/component-base k8s.io/kubectl; do
    got=$(replaced "$k8s_dir" "$mod")
    [ "$got" = "$staging" ] || fail "kubernetes: $mod is pinned to ${got:-(nothing)}, expected $staging for $KUBERNETES_VERSION; run hack/pin-tools.sh kubernetes"
  done
fi
etcd_dir="$here/tools/etcd"
if [ -f "$etcd_dir/go.mod" ]; then
  for mod in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/v3; do
    got=$(replaced "$etcd_dir" "$mod")
    [ "$got" = "$ETCD_VERSION" ] || fail "etcd: $mod is pinned to ${got:-(nothing)}, expected $ETCD_VERSION; run hack/pin-tools.sh etcd"
  done
fi

if [ "$problems" -gt 0 ]; then exit 1; fi
echo "tool pins: hack/tools/ matches hack/versions.env (kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION, helm $HELM_VERSION)"
