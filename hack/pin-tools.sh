#!/usr/bin/env bash
# Rewrites the committed Go modules in hack/tools/<tool>/ from the versions in hack/versions.env. This is the
# one command for bumping a tool; nothing else in the build resolves versions.
#
#   hack/pin-tools.sh                  re-pin every tool (kubernetes etcd kwok helm)
#   hack/pin-tools.sh kubernetes helm  re-pin only these
#
# To bump: edit hack/versions.env, run this, review and commit the changed go.mod and go.sum files. The build
# (hack/build-tools.sh) then uses them with -mod=readonly, so what the Go module proxy serves on the day of a
# build can no longer change which versions or bytes are compiled: go.sum fixes the checksum of every module.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false

log() { printf '[pin-tools] %s\n' "$*" >&2; }

go_minor=$(go env GOVERSION | sed 's/^go1\.\([0-9]*\).*/\1/')

# init_module DIR MODULE_NAME : an empty module that builds with this Go and its defaults.
init_module() {
  local dir=$1 name=$2
  (cd "$dir" && go mod init "$name" >/dev/null 2>&1)
  # The lowest go line; tidy raises it to what the tool's modules need, not to the Go of whoever pins, so any
  # Go that the tool itself accepts can build it.
  (cd "$dir" && go mod edit -go=1.22)
  echo "godebug default=go1.$go_minor" >>"$dir/go.mod"
}

# tools_go DIR PKG... : a tools.go importing the packages to build, so `go mod tidy` keeps their modules.
tools_go() {
  local dir=$1; shift
  {
    echo '//go:build tools'
    echo
    echo '// Package tools pins the modules of the binaries that hack/build-tools.sh builds.'
    echo 'package tools'
    echo
    echo 'import ('
    local pkg
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
    echo ')'
  } >"$dir/tools.go"
}

# Kubernetes cannot be required like other modules: its go.mod requires the staging modules (k8s.io/api,
# k8s.io/client-go, ...) at v0.0.0 with relative replace directives. The wrapper pins each of them to the
# matching published tag, v0.<minor>.<patch>.
pin_kubernetes() {
  local dir=$1
  init_module "$dir" rollguard.local/tools/kubernetes
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  [ -f "$gomod" ] || { log "cannot download k8s.io/kubernetes@$KUBERNETES_VERSION"; return 1; }
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  {
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    awk '$2 == "v0.0.0" && $1 ~ /^k8s.io\// { print $1 }' "$gomod" | sort -u |
      while read -r mod; do echo "replace $mod => $mod $staging_version"; done
  } >>"$dir/go.mod"
  tools_go "$dir" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}

# etcd's server module replaces its sibling modules with ../ paths; pin them to the same release.
pin_etcd() {
  local dir=$1
  init_module "$dir" rollguard.local/tools/etcd
  {
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    local mod
    for mod in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 go.etcd.io/etcd/pkg/v3; do
      echo "replace $mod => $mod $ETCD_VERSION"
    done
  } >>"$dir/go.mod"
  tools_go "$dir" go.etcd.io/etcd/server/v3
}

pin_kwok() {
  local dir=$1
  init_module "$dir" rollguard.local/tools/kwok
  echo "require sigs.k8s.io/kwok $KWOK_VERSION" >>"$dir/go.mod"
  tools_go "$dir" sigs.k8s.io/kwok/cmd/kwok
}

pin_helm() {
  local dir=$1
  init_module "$dir" rollguard.local/tools/helm
  echo "require helm.sh/helm/v4 $HELM_VERSION" >>"$dir/go.mod"
  tools_go "$dir" helm.sh/helm/v4/cmd/helm
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(kubernetes etcd kwok helm)
for tool in "${tools[@]}"; do
  case $tool in kubernetes | etcd | kwok | helm) ;; *) log "unknown tool '$tool' (kubernetes, etcd, kwok, helm)"; exit 2 ;; esac
  work=$(mktemp -d)
  log "pinning $tool"
  "pin_$tool" "$work"
  # Resolving happens here, once, by a person bumping a version; never during a build. The explicit require
  # is written before the first tidy so tidy keeps it rather than choosing the newest release.
  (cd "$work" && go mod tidy)
  dest="$here/tools/$tool"
  mkdir -p "$dest"
  cp "$work/go.mod" "$work/go.sum" "$work/tools.go" "$dest/"
  rm -rf "$work"
  log "wrote hack/tools/$tool/go.mod, go.sum and tools.go"
done
"$here/check-tool-pins.sh"
