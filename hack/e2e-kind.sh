#!/usr/bin/env bash
# End-to-end on kind, for machines with Docker (`make e2e-kind`; CI runs it too): builds the controller image,
# creates a throwaway kind cluster, loads the image into it, installs the Helm chart as a user would, applies the
# example policy and a Deployment it covers, and waits until rollguard has assessed a rollout of it. The cluster
# is deleted on exit, whatever happens (KEEP_CLUSTER=1 keeps it for a look).
#
#   hack/e2e-kind.sh
#   KIND_CLUSTER=name IMAGE=repo:tag KIND_NODE_IMAGE=kindest/node:vX hack/e2e-kind.sh
#
# Needs docker, and kind (installed with `go install sigs.k8s.io/kind@$KIND_VERSION` when missing); kubectl and
# helm come from `make tools` (~/.cache/rollguard/tools/bin) or PATH.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

KIND_VERSION=${KIND_VERSION:-v0.33.0}
cluster=${KIND_CLUSTER:-rollguard-e2e}
image=${IMAGE:-ghcr.io/rollguard/rollguard:e2e}
release_ns=rollguard-system
app_ns=e2e-app
tools_bin=${ROLLGUARD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rollguard/tools}/bin
export PATH="$tools_bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"

log() { printf '\n[e2e-kind] %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

for tool in docker kubectl helm; do
  command -v "$tool" >/dev/null || fail "$tool not found (kubectl and helm: run 'make tools')"
done
if ! command -v kind >/dev/null; then
  log "installing kind $KIND_VERSION with go install"
  go install "sigs.k8s.io/kind@$KIND_VERSION"
fi

kubeconfig=$(mktemp)
export KUBECONFIG=$kubeconfig

dump() {
  log "what the cluster looked like"
  kubectl get pods,deployments,replicasets -A -o wide || true
  kubectl -n "$release_ns" describe pods -l app.kubernetes.io/name=rollguard || true
  kubectl -n "$release_ns" logs -l app.kubernetes.io/name=rollguard --prefix --tail=200 || true
  kubectl -n "$app_ns" get events --sort-by=.lastTimestamp || true
}
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then dump; fi
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    log "keeping kind cluster $cluster (KUBECONFIG=$kubeconfig); delete it with: kind delete cluster --name $cluster"
  else
    log "deleting kind cluster $cluster"
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
    rm -f "$kubeconfig"
  fi
  exit "$status"
}
trap cleanup EXIT

log "building $image"
docker build -t "$image" .

log "creating kind cluster $cluster"
kind create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
kind load docker-image "$image" --name "$cluster"

log "installing the chart"
helm install rollguard charts/rollguard --namespace "$release_ns" --create-namespace \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
  --set logLevel=debug --wait --timeout 5m
kubectl -n "$release_ns" get pods -o wide

log "applying the example policy and a Deployment it covers"
kubectl create namespace "$app_ns"
kubectl -n "$app_ns" apply -f deploy/examples/policy.yaml
kubectl -n "$app_ns" apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    rollguard.io/enabled: "true"
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
      annotations:
        rollguard.io/change-type: feature
        rollguard.io/files-changed: "2"
        rollguard.io/lines-added: "30"
        rollguard.io/lines-deleted: "4"
        rollguard.io/test-coverage: "88"
    spec:
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
          resources:
            requests: { cpu: 10m, memory: 16Mi }
            limits: { cpu: 100m, memory: 32Mi }
YAML
kubectl -n "$app_ns" rollout status deployment/web --timeout=180s

log "rolling out a second revision"
kubectl -n "$app_ns" patch deployment web --type=merge \
  -p '{"spec":{"template":{"metadata":{"annotations":{"rollguard.io/change-type":"bugfix","rollguard.io/lines-added":"12"}}}}}'

log "waiting for rollguard to assess the rollout"
deadline=$((SECONDS + 180))
until [ -n "$(kubectl -n "$app_ns" get rolloutassessments -o name 2>/dev/null)" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no RolloutAssessment appeared in $app_ns within 180 s"
  sleep 3
done
kubectl -n "$app_ns" get rolloutassessments
kubectl -n "$app_ns" get deployment web -o go-template='{{range $k, $v := .metadata.annotations}}{{$k}}={{$v}}{{"\n"}}{{end}}' |
  grep '^rollguard.io/' || fail "the Deployment carries no rollguard.io/ annotations"

log "uninstalling the chart"
helm uninstall rollguard --namespace "$release_ns" --wait --timeout 2m
log "passed"
