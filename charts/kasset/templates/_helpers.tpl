{{/* Names, labels and shared fragments of the kasset chart. */}}

{{- define "kasset.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: RELEASE if it contains the chart name, else RELEASE-NAME; <= 48 characters so
that suffixed names (-ui-token, -metrics, -storage) stay within 63. */}}
{{- define "kasset.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kasset.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kasset.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kasset.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "kasset.labels" -}}
helm.sh/chart: {{ include "kasset.chart" . }}
{{ include "kasset.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kasset
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A probe: the endpoint and the user's timings (operator.probes.<name>). */}}
{{- define "kasset.probe" -}}
{{- $probe := merge (dict "httpGet" (dict "path" .path "port" "http")) (deepCopy .timings) -}}
{{- toYaml $probe -}}
{{- end -}}

{{- define "kasset.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kasset.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects are shared by every namespace: include the release namespace. */}}
{{- define "kasset.clusterName" -}}
{{- printf "%s-%s" (include "kasset.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "kasset.eventSecretName" -}}
{{- default (printf "%s-events" (include "kasset.fullname" .)) .Values.eventSecret.existingSecret -}}
{{- end -}}

{{- define "kasset.eventSecretKey" -}}
{{- if .Values.eventSecret.existingSecret -}}{{ .Values.eventSecret.existingSecretKey }}{{- else -}}secret{{- end -}}
{{- end -}}

{{- define "kasset.uiSecretName" -}}
{{- default (printf "%s-ui-token" (include "kasset.fullname" .)) .Values.ui.existingSecret -}}
{{- end -}}

{{- define "kasset.uiSecretKey" -}}
{{- if .Values.ui.existingSecret -}}{{ .Values.ui.existingSecretKey }}{{- else -}}token{{- end -}}
{{- end -}}

{{- define "kasset.storageClaimName" -}}
{{- if eq .Values.storage.mode "existingClaim" -}}
{{- .Values.storage.existingClaim -}}
{{- else if eq .Values.storage.mode "pvc" -}}
{{- printf "%s-storage" (include "kasset.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Namespaces whose kasset resources the operator watches (namespaced scope). */}}
{{- define "kasset.watchNamespaces" -}}
{{- $ns := .Values.rbac.watchNamespaces | default (list .Release.Namespace) | uniq -}}
{{- toJson $ns -}}
{{- end -}}

{{/* Fails early on value combinations the schema cannot express clearly. */}}
{{- define "kasset.validate" -}}
{{- if and (eq .Values.rbac.scope "cluster") .Values.rbac.watchNamespaces -}}
{{- fail "rbac.watchNamespaces is only used with rbac.scope=namespaced; with rbac.scope=cluster the operator watches every namespace" -}}
{{- end -}}
{{- if and (eq .Values.storage.mode "existingClaim") (not .Values.storage.existingClaim) -}}
{{- fail "storage.mode=existingClaim needs storage.existingClaim (the name of a PersistentVolumeClaim in the release namespace)" -}}
{{- end -}}
{{- if and (eq .Values.storage.mode "url") (not .Values.storage.url) -}}
{{- fail "storage.mode=url needs storage.url (an fsspec URL such as s3://bucket/prefix)" -}}
{{- end -}}
{{- end -}}

{{/* RBAC rules for kasset's own resources, step pods and Events, used by the cluster-wide
ClusterRole and by the per-namespace Roles. Argument: a dict with "podPatch" (bool). */}}
{{- define "kasset.workloadRules" -}}
# The operator watches graphs and runs, creates runs from schedules, deletes finished runs
# (TTL and historyLimit), and patches them (kopf finalizers and progress annotations).
- apiGroups: ["kasset.io"]
  resources: ["assetgraphs", "materializations"]
  verbs: ["get", "list", "watch", "create", "delete", "patch"]
# One Asset per asset of a graph: created, updated and removed as graphs change.
- apiGroups: ["kasset.io"]
  resources: ["assets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Status of every kind goes through its status subresource.
- apiGroups: ["kasset.io"]
  resources: ["assetgraphs/status", "materializations/status", "assets/status"]
  verbs: ["get", "patch", "update"]
# Step pods: launched, watched, and deleted on cancel or retry.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"{{ if .podPatch }}, "patch"{{ end }}]
# Step logs for the UI.
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# Kubernetes Events for run and step transitions (kopf posts core Events).
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* kopf observes CRDs so that it notices kasset's CRDs appearing or changing at runtime. */}}
{{- define "kasset.crdRules" -}}
# kopf's resource observer: lists and watches CRDs to notice kasset's kinds (re)appearing;
# without it kopf only scans at start-up and logs a permission warning. Read-only.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
{{- end -}}

{{/* The installation's step-pod defaults as the operator reads them (kasset.operator.poddefaults):
stepPods without its empty entries. */}}
{{- define "kasset.stepPodDefaults" -}}
{{- $out := dict -}}
{{- range $key, $value := .Values.stepPods -}}
{{- if $value -}}{{- $_ := set $out $key $value -}}{{- end -}}
{{- end -}}
{{- toPrettyJson $out -}}
{{- end -}}
