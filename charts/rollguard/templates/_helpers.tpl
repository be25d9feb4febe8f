{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "rollguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: fullnameOverride, else the release name when it already contains the chart
name (so `helm install rollguard ...` gives plain "rollguard"), else "<release>-<chart>".
*/}}
{{- define "rollguard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rollguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selects the controller's pods; never changes between upgrades (a Deployment's selector is immutable). */}}
{{- define "rollguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rollguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "rollguard.labels" -}}
helm.sh/chart: {{ include "rollguard.chart" . }}
{{ include "rollguard.selectorLabels" . }}
app.kubernetes.io/version: {{ include "rollguard.imageTag" . | quote }}
app.kubernetes.io/part-of: rollguard
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rollguard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rollguard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rollguard.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "rollguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "rollguard.imageTag" .) -}}
{{- end -}}

{{/*
The namespace the controller watches, checked: namespaced RBAC only makes sense with a namespace to confine it
to.
*/}}
{{- define "rollguard.watchNamespace" -}}
{{- if and .Values.rbac.namespaced (not .Values.watchNamespace) -}}
{{- fail "rbac.namespaced=true needs watchNamespace: the namespace whose Deployments rollguard may watch and act on" -}}
{{- end -}}
{{- .Values.watchNamespace -}}
{{- end -}}

{{/*
The rights the controller needs on the workloads and rollguard's own resources, wherever it watches: cluster-wide
(a ClusterRole) by default, or in watchNamespace only (a Role) with rbac.namespaced=true. Keep this list in step
with the chart README and test/support/chart-rights.ts.
*/}}
{{- define "rollguard.workloadRules" -}}
# Watch Deployments, and annotate / pause / roll them back (always a patch, never an update or a delete).
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "patch"]
# ReplicaSets tell the revisions apart (pod-template-hash) and hold the previous pod template for a rollback.
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list", "watch"]
- apiGroups: ["rollguard.io"]
  resources: ["deploymentriskpolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["rollguard.io"]
  resources: ["deploymentriskpolicies/status"]
  verbs: ["patch"]
# One RolloutAssessment per assessed revision; old ones are deleted by the retention rule.
- apiGroups: ["rollguard.io"]
  resources: ["rolloutassessments"]
  verbs: ["get", "list", "watch", "create", "delete", "patch"]
- apiGroups: ["rollguard.io"]
  resources: ["rolloutassessments/status"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/*
Prometheus credentials and CA certificates, read by name from the Secrets that policies point at. Only get:
rollguard can neither list nor watch Secrets, and it reads only those labelled rollguard.io/credentials=true.
Never cluster-wide: in the watched namespace (rbac.namespaced), or where rbac.secretNamespaces (or a team's
own RoleBinding to the -secret-reader ClusterRole) grants it.
*/}}
{{- define "rollguard.secretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end -}}

{{/*
Which admission gate this release installs: "" (gate.enabled=false), "policy" (a MutatingAdmissionPolicy,
Kubernetes 1.36+) or "webhook" (a MutatingWebhookConfiguration calling the operator's pods, 1.30-1.35). auto
takes the policy where the cluster serves MutatingAdmissionPolicy or is 1.36+ (helm template: --kube-version).
*/}}
{{- define "rollguard.gateMode" -}}
{{- if .Values.gate.enabled -}}
{{- if eq .Values.gate.mode "auto" -}}
{{- $served := .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy" -}}
{{- /* helm template knows no served APIs beyond its built-in list: there the Kubernetes version decides. */ -}}
{{- ternary "policy" "webhook" (or $served (semverCompare ">=1.36.0-0" .Capabilities.KubeVersion.Version)) -}}
{{- else -}}
{{- .Values.gate.mode -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The gate objects' name; also the webhook Service's, so at most 63 characters. */}}
{{- define "rollguard.gateName" -}}
{{- printf "%s-gate" (include "rollguard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
