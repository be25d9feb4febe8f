//go:build tools

// Package tools pins the modules of the binaries that hack/build-tools.sh builds.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
