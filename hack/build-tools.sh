#!/usr/bin/env bash
# Builds the local control plane and tools from Go modules at the versions pinned in hack/versions.env, and
# caches them outside the repository, one folder per tool and version. Prints the bin folder on the last line.
#
#   hack/build-tools.sh            build what is missing (a no-op when everything is cached)
#   ROLLGUARD_TOOLS_DIR=/some/dir  cache somewhere else (default: ~/.cache/rollguard/tools)
#   KUBEBUILDER_ASSETS=/dir        use kube-apiserver, etcd and kubectl from there instead of building them
#
# Why Go modules: these machines have no Docker and no internet beyond the package registries, so kind and
# setup-envtest downloads cannot work; the Go module proxy can.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

tools_dir=${ROLLGUARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard/tools}
go_version=$(go env GOVERSION)
bin_dir="$tools_dir/bin"
mkdir -p "$bin_dir"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

log() { printf '[build-tools] %s\n' "$*" >&2; }

# have DIR NAME... : true when every NAME is an executable in DIR.
have() {
  local dir=$1; shift
  local name
  for name in "$@"; do [ -x "$dir/$name" ] || return 1; done
}

# link DIR NAME... : expose cached binaries in the shared bin folder.
link() {
  local dir=$1; shift
  local name
  for name in "$@"; do ln -sfn "$dir/$name" "$bin_dir/$name"; done
}

# Kubernetes cannot be `go install`ed: its go.mod requires the staging modules at v0.0.0 with relative
# replace directives. A throwaway wrapper module requires the release and pins each of them instead.
build_kubernetes() {
  local out="$tools_dir/kubernetes-$KUBERNETES_VERSION-$go_version"
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && have "$KUBEBUILDER_ASSETS" kube-apiserver kubectl; then
    log "using kube-apiserver and kubectl from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    link "$KUBEBUILDER_ASSETS" kube-apiserver kubectl
    names=(kube-controller-manager kube-scheduler)
  fi
  if have "$out" "${names[@]}"; then link "$out" "${names[@]}"; return; fi

  log "building Kubernetes $KUBERNETES_VERSION (${names[*]}) with $go_version; a cold build takes a while"
  local work; work=$(mktemp -d)
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$work"
    go mod init rollguard.local/kubernetes-tools >/dev/null 2>&1
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    {
      echo "godebug default=go1.$(go env GOVERSION | sed 's/go1\.\([0-9]*\).*/\1/')"
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      # Every staging module the release requires at v0.0.0 is published under the matching v0.N.M tag.
      awk '$2 == "v0.0.0" && $1 ~ /^k8s.io\// { print $1 }' "$gomod" | sort -u |
        while read -r mod; do echo "replace $mod => $mod $staging_version"; done
    } >>go.mod
    go mod tidy >/dev/null 2>&1 || true
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy -e >/dev/null 2>&1 || go mod tidy
    local ld=""
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
      ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    mkdir -p "$out.tmp"
    local pkgs=()
    for n in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
    go build -trimpath -ldflags "-s -w $ld" -o "$out.tmp/" "${pkgs[@]}"
  )
  rm -rf "$work" "$out"
  mv "$out.tmp" "$out"
  link "$out" "${names[@]}"
}

build_etcd() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && have "$KUBEBUILDER_ASSETS" etcd; then
    log "using etcd from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    link "$KUBEBUILDER_ASSETS" etcd
    return
  fi
  local out="$tools_dir/etcd-$ETCD_VERSION-$go_version"
  if have "$out" etcd; then link "$out" etcd; return; fi
  log "building etcd $ETCD_VERSION"
  local work; work=$(mktemp -d)
  (
    cd "$work"
    go mod init rollguard.local/etcd-tools >/dev/null 2>&1
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION" >>go.mod
    # etcd's server module replaces its sibling modules with ../ paths; pin them to the same release.
    for mod in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 \
      go.etcd.io/etcd/pkg/v3; do
      echo "replace $mod => $mod $ETCD_VERSION" >>go.mod
    done
    cat >tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
    go mod tidy
    mkdir -p "$out.tmp"
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work" "$out"
  mv "$out.tmp" "$out"
  link "$out" etcd
}

# go_install NAME MODULE_PATH VERSION : tools without replace directives install directly.
go_install() {
  local name=$1 pkg=$2 version=$3 ldflags=${4:-}
  local out="$tools_dir/$name-$version-$go_version"
  if have "$out" "$name"; then link "$out" "$name"; return; fi
  log "building $name $version"
  rm -rf "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  rm -rf "$out"
  mv "$out.tmp" "$out"
  link "$out" "$name"
}

build_kubernetes
build_etcd
go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
go_install helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
echo "$bin_dir"
