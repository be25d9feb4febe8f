# rollguard — `make help` lists every target.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Node 24 comes from the npm registry's `node` package (a devDependency): everything below runs on it, not on
# whatever node the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NPM_STAMP := node_modules/.package-lock.json

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## Install npm packages (and Node 24) from the lockfile

.PHONY: tools
tools: tool-pins ## Build or unpack the pinned control-plane binaries, helm and Prometheus into the cache
	hack/build-tools.sh
	hack/install-prometheus.sh

.PHONY: tool-pins
tool-pins: ## Fail (in a second, no build) when hack/versions.env and the committed modules in hack/tools/ disagree
	hack/check-tool-pins.sh

.PHONY: pin-tools
pin-tools: ## After editing hack/versions.env: rewrite hack/tools/*/go.mod and go.sum (the one way to bump a tool)
	hack/pin-tools.sh

.PHONY: system-packages
system-packages: ## Install the Debian packages the tests need (Chromium), or say which are missing
	hack/install-system-packages.sh

.PHONY: build
build: deps ## Compile TypeScript to dist/
	npm run -s build

.PHONY: lint
lint: deps ## Lint (typescript-eslint, strict) and check formatting (prettier)
	npm run -s lint

.PHONY: typecheck
typecheck: deps ## Type-check everything, tests included
	npm run -s typecheck

.PHONY: unit
unit: deps system-packages ## Unit tests of the pure core
	npm run -s test:unit

.PHONY: integration
integration: deps tools system-packages ## Integration tests against a real local control plane and Prometheus
	npm run -s test:integration

.PHONY: faults
faults: deps tools ## The fault suite: releases under SIGKILL, API server and etcd restarts, 410s, a slow or stopped Prometheus, a hung replica
	npm run -s test:faults

.PHONY: crds
crds: deps ## Regenerate crds/ from the zod schemas in src/api (and the chart's and deploy/'s copies)
	tsx hack/gen-crds.ts
	tsx hack/gen-deploy.ts

.PHONY: deploy
deploy: deps tools ## Regenerate deploy/ and charts/rollguard/crds/ from the Helm chart and crds/
	tsx hack/gen-deploy.ts

.PHONY: deploy-check
deploy-check: deps tools ## Fail when deploy/ or the chart's CRDs differ from what the chart and crds/ give
	tsx hack/gen-deploy.ts --check

.PHONY: crds-check
crds-check: deps ## Fail when crds/ differs from what the zod schemas generate
	tsx hack/gen-crds.ts --check

.PHONY: docs
docs: deps ## Regenerate docs/policy-reference.md from the policy schema
	tsx hack/gen-docs.ts

.PHONY: docs-check
docs-check: deps ## Fail when docs/policy-reference.md differs from what the schema generates
	tsx hack/gen-docs.ts --check

.PHONY: test
test: tool-pins lint typecheck crds-check docs-check deploy-check unit integration faults ## Everything CI runs: lint, type check, CRD drift, unit, integration and fault tests
	@echo "make test: all checks passed"

.PHONY: demo
demo: deps tools ## Start the local cluster, show it at work, and stop it
	tsx hack/demo.ts

.PHONY: cluster-up
cluster-up: deps tools ## Start the local cluster in the background and print the exports to use it
	@tsx test/harness/cli.ts up

.PHONY: cluster-down
cluster-down: deps ## Stop the local cluster started by cluster-up
	@tsx test/harness/cli.ts down

.PHONY: bench
bench: deps tools ## Benchmarks: credential-check recall and false positives, assessment latency, gate latency, verification reaction time, query batching, model training
	tsx bench/run.ts

.PHONY: bench-scale
bench-scale: deps tools ## rollguard at 5,000 Deployments: memory, sync time, assessment latency, verification and API load (SCALE=0.1 for a tenth, JSON=1 for a JSON line)
	SCALE=$(or $(SCALE),1) JSON=$(or $(JSON),0) tsx bench/scale.ts

.PHONY: bench-shards
bench-shards: deps tools ## 3 replicas sharing 6 shards while 300 Deployments roll out in 3 waves: memory per replica, shard drops, revisions assessed once (DEPLOYMENTS=N, WAVES=N, LEASE=15s for the chart's lease; 6s by default, to stress handovers)
	tsx bench/shards.ts

.PHONY: model
model: deps ## Retrain the default model in models/default from the public data in data/jit
	tsx bench/train-default-model.ts

IMAGE ?= ghcr.io/rollguard/rollguard:dev
.PHONY: image
image: ## Build the controller image (needs Docker)
	docker build -t $(IMAGE) .

.PHONY: e2e-kind
e2e-kind: deps tools ## End-to-end on kind (needs Docker): build the image, install the chart, see a rollout assessed
	hack/e2e-kind.sh

.PHONY: dist
dist: deps ## One self-contained linux-amd64 executable, the krew plugin and manifest, the packaged chart, SHA256SUMS
	tsx hack/build-dist.ts $(if $(wildcard $(HOME)/.cache/rollguard/tools/bin/helm),,$(if $(shell command -v helm),,--no-chart))

.PHONY: bench-dist
bench-dist: dist ## The single executable's size and start-up time (--version, --help, an offline score)
	tsx bench/dist.ts

.PHONY: sbom
sbom: deps ## A CycloneDX bill of materials of the npm packages rollguard ships, in dist/sbom.cdx.json
	@mkdir -p dist
	cyclonedx-npm --omit dev --spec-version 1.6 --output-reproducible --validate --output-format JSON --output-file dist/sbom.cdx.json
	@echo "dist/sbom.cdx.json: $$(jq '.components | length' dist/sbom.cdx.json 2>/dev/null || echo '?') components"

.PHONY: format
format: deps ## Rewrite files with prettier
	npm run -s format

.PHONY: clean
clean: ## Remove build output (the tools cache in ~/.cache/rollguard stays)
	rm -rf dist coverage test-results
