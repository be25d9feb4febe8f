#!/usr/bin/env bash
# Builds the local control plane and tools from the Go modules committed in hack/tools/<tool>/ (go.mod and
# go.sum, written by hack/pin-tools.sh from hack/versions.env) and caches them outside the repository, one
# folder per tool, version and Go version. Prints the bin folder on the last line.
#
#   hack/build-tools.sh            build what is missing (a no-op when everything is cached)
#   ROLLGUARD_TOOLS_DIR=/some/dir  cache somewhere else (default: ~/.cache/rollguard/tools)
#   KUBEBUILDER_ASSETS=/dir        use kube-apiserver, etcd and kubectl from there instead of building them
#
# Why Go modules: these machines have no Docker and no internet beyond the package registries, so kind and
# setup-envtest downloads cannot work; the Go module proxy can. Why committed modules built with
# -mod=readonly: the versions and checksums come from the repository, never from what the proxy serves on the
# day of the build (a `go mod tidy` here once picked up a newer Kubernetes the day it was published).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

"$here/check-tool-pins.sh" >/dev/null

tools_dir=${ROLLGUARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard/tools}
go_version=$(go env GOVERSION)
bin_dir="$tools_dir/bin"
mkdir -p "$bin_dir"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false -mod=readonly"

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

# pins TOOL : a fingerprint of the tool's committed module files. Stored beside the binaries so a re-pin of
# the same version (new go.sum) rebuilds that tool and no other.
pins() { cat "$here/tools/$1/go.mod" "$here/tools/$1/go.sum" | sha256sum | cut -d' ' -f1; }

# cached TOOL OUT NAME... : true when OUT holds the binaries, built from the current pins.
cached() {
  local tool=$1 out=$2; shift 2
  have "$out" "$@" && [ "$(cat "$out/.pins" 2>/dev/null)" = "$(pins "$tool")" ]
}

# build TOOL VERSION OUT LDFLAGS PKG... : go build the packages from hack/tools/TOOL into OUT. On failure, say
# which tool and version failed, the last lines of Go's output and what to try; the full log is kept.
build() {
  local tool=$1 version=$2 out=$3 ldflags=$4; shift 4
  local logfile="$tools_dir/$tool-$version-$go_version.log"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  local start=$SECONDS
  if ! (cd "$here/tools/$tool" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@") >"$logfile" 2>&1; then
    {
      echo
      echo "rollguard could not build $tool $version with $go_version. The last lines Go printed:"
      tail -n 12 "$logfile" | sed 's/^/    /'
      echo
      echo "Full log: $logfile"
      echo "What to try:"
      echo "  - a 'dial tcp' or 'proxy' error: the Go module proxy could not be reached; check GOPROXY ($(go env GOPROXY)) and retry."
      echo "  - 'missing go.sum entry' or 'updates to go.mod needed': hack/tools/$tool/ is out of date; run hack/pin-tools.sh $tool and commit the result."
      echo "  - 'requires go >=': this Go ($go_version) is older than $tool $version needs; install a newer Go or pin an older $tool in hack/versions.env."
      if [ "$tool" = kubernetes ] || [ "$tool" = etcd ]; then
        echo "  - to skip this build, point KUBEBUILDER_ASSETS at a folder with kube-apiserver, kubectl and etcd (setup-envtest's layout)."
      fi
      echo "  - to use prebuilt tools, put them in a folder and set ROLLGUARD_TOOLS_DIR to its parent (binaries in \$ROLLGUARD_TOOLS_DIR/bin)."
    } >&2
    rm -rf "$out.tmp"
    exit 1
  fi
  pins "$tool" >"$out.tmp/.pins"
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "built $tool $version in $((SECONDS - start)) s"
}

build_kubernetes() {
  local out="$tools_dir/kubernetes-$KUBERNETES_VERSION-$go_version"
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && have "$KUBEBUILDER_ASSETS" kube-apiserver kubectl; then
    log "using kube-apiserver and kubectl from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    link "$KUBEBUILDER_ASSETS" kube-apiserver kubectl
    names=(kube-controller-manager kube-scheduler)
  fi
  if cached kubernetes "$out" "${names[@]}"; then link "$out" "${names[@]}"; return; fi
  log "building Kubernetes $KUBERNETES_VERSION (${names[*]}) with $go_version; a cold build takes 15-20 minutes on 2 cores"
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local ld="" pkg
  # What `kubectl version` and the API server's /version report; a module build has no git tree to read.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local pkgs=() n
  for n in "${names[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
  build kubernetes "$KUBERNETES_VERSION" "$out" "$ld" "${pkgs[@]}"
  link "$out" "${names[@]}"
}

build_etcd() {
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && have "$KUBEBUILDER_ASSETS" etcd; then
    log "using etcd from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    link "$KUBEBUILDER_ASSETS" etcd
    return
  fi
  local out="$tools_dir/etcd-$ETCD_VERSION-$go_version"
  if cached etcd "$out" etcd; then link "$out" etcd; return; fi
  log "building etcd $ETCD_VERSION"
  build etcd "$ETCD_VERSION" "$out" "" go.etcd.io/etcd/server/v3
  # go build names a binary after the element before a major-version suffix: go.etcd.io/etcd/server/v3 → server.
  mv "$out/server" "$out/etcd"
  link "$out" etcd
}

build_kwok() {
  local out="$tools_dir/kwok-$KWOK_VERSION-$go_version"
  if cached kwok "$out" kwok; then link "$out" kwok; return; fi
  log "building kwok $KWOK_VERSION"
  build kwok "$KWOK_VERSION" "$out" "" sigs.k8s.io/kwok/cmd/kwok
  link "$out" kwok
}

build_helm() {
  local out="$tools_dir/helm-$HELM_VERSION-$go_version"
  if cached helm "$out" helm; then link "$out" helm; return; fi
  log "building helm $HELM_VERSION"
  build helm "$HELM_VERSION" "$out" "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" helm.sh/helm/v4/cmd/helm
  link "$out" helm
}

build_kubernetes
build_etcd
build_kwok
build_helm
echo "$bin_dir"
