{{/* ===================================================================================
     Names and labels
     =================================================================================== */}}

{{- define "fluxus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-fluxus, or <release> when the release name already contains the chart name. */}}
{{- define "fluxus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fluxus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fluxus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fluxus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fluxus.labels" -}}
helm.sh/chart: {{ include "fluxus.chart" . }}
{{ include "fluxus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fluxus
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component. Args: dict root, component, [group] (worker queue group). */}}
{{- define "fluxus.componentSelectorLabels" -}}
{{ include "fluxus.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .group }}
fluxus.dev/queue-group: {{ . }}
{{- end }}
{{- end }}

{{/* Full labels of one component. Args: dict root, component, [group]. */}}
{{- define "fluxus.componentLabels" -}}
{{ include "fluxus.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .group }}
fluxus.dev/queue-group: {{ . }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>[-<group>]. Args: dict root, component, [group]. */}}
{{- define "fluxus.componentName" -}}
{{- if .group }}
{{- printf "%s-%s-%s" (include "fluxus.fullname" .root) .component .group | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" (include "fluxus.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "fluxus.serviceAccountName" -}}
{{- include "fluxus.fullname" . }}
{{- end }}

{{- define "fluxus.operatorServiceAccountName" -}}
{{- printf "%s-operator" (include "fluxus.fullname" .) }}
{{- end }}

{{/* ===================================================================================
     Image
     =================================================================================== */}}

{{/* repository:tag (or @digest) of a component. Args: dict root, values (component values). */}}
{{- define "fluxus.image" -}}
{{- $img := .root.Values.image }}
{{- $over := (.values).image | default dict }}
{{- $repo := $over.repository | default $img.repository }}
{{- $tag := $over.tag | default $img.tag | default .root.Chart.AppVersion }}
{{- if and $img.digest (not $over.tag) (not $over.repository) }}
{{- printf "%s@%s" $repo $img.digest }}
{{- else }}
{{- printf "%s:%s" $repo (toString $tag) }}
{{- end }}
{{- end }}

{{- define "fluxus.imagePullPolicy" -}}
{{- $over := (.values).image | default dict }}
{{- $over.pullPolicy | default .root.Values.image.pullPolicy }}
{{- end }}

{{/* ===================================================================================
     Configuration: ConfigMap and Secret contents
     =================================================================================== */}}

{{- define "fluxus.configMapName" -}}
{{- printf "%s-config" (include "fluxus.fullname" .) }}
{{- end }}

{{/*
The secret variables each component uses (issue #19: secrets only where needed). Mirrors
services.core.config.COMPONENT_CREDENTIALS (tests/chart checks they agree). `db` is the
migration Job and every db-wait init container; `renewal` the operator's renewal CronJobs;
`backup` the pg_dump CronJob (not a Fluxus process).
Arg: the component name. Output: a JSON list.
*/}}
{{- define "fluxus.credentials" -}}
{{- $db := "FLUXUS_DATABASE_URL" }}
{{- $replica := "FLUXUS_DATABASE_REPLICA_URL" }}
{{- $redis := "FLUXUS_REDIS_URL" }}
{{- $jwt := "FLUXUS_JWT_SECRET" }}
{{- $key := "FLUXUS_DATA_ENCRYPTION_KEY" }}
{{- $ecpay := list "FLUXUS_ECPAY_HASH_KEY" "FLUXUS_ECPAY_HASH_IV" }}
{{- $einvoice := list "FLUXUS_EINVOICE_HASH_KEY" "FLUXUS_EINVOICE_HASH_IV" }}
{{- $smtp := list "FLUXUS_SMTP_USERNAME" "FLUXUS_SMTP_PASSWORD" }}
{{- $cardCheck := "FLUXUS_ECPAY_CREDIT_CHECK_CODE" }}
{{- $all := dict
      "api" (concat (list $db $replica $redis $jwt $key) $einvoice)
      "payment" (concat (list $db $redis $jwt $key) $ecpay $einvoice)
      "worker" (concat (list $db $redis $key $cardCheck) $ecpay $einvoice $smtp)
      "scheduler" (list $db $redis)
      "operator" (list $db)
      "renewal" (list $db $redis)
      "db" (list $db)
      "backup" (list $db)
      "ui" list }}
{{- toJson (get $all .) }}
{{- end }}

{{/*
The Secret a component's credentials come from: secrets.existingSecret (referenced key by key,
so a pod still sees only its own), or the chart's <fullname>-<component>-secrets holding only
them. Args: dict root, component.
*/}}
{{- define "fluxus.componentSecretName" -}}
{{- if .root.Values.secrets.existingSecret }}
{{- .root.Values.secrets.existingSecret }}
{{- else if eq .component "db" }}
{{- include "fluxus.hookSecretName" .root }}
{{- else }}
{{- printf "%s-%s-secrets" (include "fluxus.fullname" .root) .component }}
{{- end }}
{{- end }}

{{/*
EnvVars for a component: which process it is (production checks only its credentials) and
its credentials, each from its Secret. Args: dict root, component, [secretOf] (component whose
Secret holds them; db-wait reads its pod's Secret).
*/}}
{{- define "fluxus.componentEnv" -}}
- name: FLUXUS_COMPONENT
  value: {{ .component }}
{{- $secret := include "fluxus.componentSecretName" (dict "root" .root "component" (.secretOf | default .component)) }}
{{- range $key := include "fluxus.credentials" .component | fromJsonArray }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      {{- /* An existing Secret holds the pooler's URL for the processes under its own key. */}}
      {{- if and $.root.Values.secrets.existingSecret (eq $key "FLUXUS_DATABASE_URL") (include "fluxus.pooledComponent" $) }}
      key: FLUXUS_DATABASE_POOLER_URL
      {{- else }}
      key: {{ $key }}
      {{- end }}
      {{- /* A key missing from an existingSecret leaves the default, which production refuses. */}}
      optional: true
{{- end }}
{{- end }}

{{/* The chart-made Secret data of one component. Args: dict root, component. */}}
{{- define "fluxus.componentSecretData" -}}
{{- $values := include "fluxus.secretValues" .root | fromYaml }}
{{- if include "fluxus.pooledComponent" . }}
{{- $_ := set $values "FLUXUS_DATABASE_URL" (include "fluxus.pooledDatabaseUrl" .root) }}
{{- end }}
{{- range $key := include "fluxus.credentials" .component | fromJsonArray }}
{{ $key }}: {{ get $values $key | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/*
"true" when a pooler is in use (the chart's PgBouncer or database.poolerUrl) and the component
is a Fluxus process reaching the database through it. The migration Job (`db`) and the
backup keep the direct URL. Args: dict root, component.
*/}}
{{- define "fluxus.pooledComponent" -}}
{{- if and (or .root.Values.pgbouncer.enabled .root.Values.database.poolerUrl) (has .component (list "api" "payment" "worker" "scheduler" "operator" "renewal")) }}true{{ end }}
{{- end }}

{{/* Egress from a Fluxus pod to the chart's PgBouncer (nothing without it). Arg: root. */}}
{{- define "fluxus.pgbouncerEgress" -}}
{{- if .Values.pgbouncer.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "fluxus.componentSelectorLabels" (dict "root" . "component" "pgbouncer") | nindent 10 }}
  ports:
    - {port: 5432, protocol: TCP}
{{- end }}
{{- end }}

{{/* The chart's PgBouncer: <fullname>-pgbouncer. */}}
{{- define "fluxus.pgbouncerName" -}}
{{- printf "%s-pgbouncer" (include "fluxus.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The processes' database URL with a pooler: database.poolerUrl, or FLUXUS_DATABASE_URL with its
host and port replaced by the chart's PgBouncer Service (same user, password and database).
*/}}
{{- define "fluxus.pooledDatabaseUrl" -}}
{{- if .Values.database.poolerUrl }}
{{- .Values.database.poolerUrl }}
{{- else }}
{{- $url := urlParse .Values.secrets.values.FLUXUS_DATABASE_URL }}
{{- $host := printf "%s.%s.svc:5432" (include "fluxus.pgbouncerName" .) .Release.Namespace }}
{{- $_ := set $url "host" $host }}
{{- /* No sslmode to the pooler: the hop stays in the namespace under NetworkPolicy, and
PgBouncer's own server_tls_sslmode protects the hop to PostgreSQL. */}}
{{- $_ = set $url "query" "" }}
{{- urlJoin $url }}
{{- end }}
{{- end }}

{{/* Copies for the pre-install migration hook, which runs before the release's own objects exist. */}}
{{- define "fluxus.hookConfigMapName" -}}
{{- printf "%s-migrations-config" (include "fluxus.fullname" .) }}
{{- end }}

{{- define "fluxus.hookSecretName" -}}
{{- printf "%s-migrations-secrets" (include "fluxus.fullname" .) }}
{{- end }}

{{/* <ingress.publicScheme>://<ingress.host> (https when ingress.tls is set), or "" without a host. */}}
{{- define "fluxus.publicBaseUrl" -}}
{{- if and .Values.ingress.enabled .Values.ingress.host }}
{{- $scheme := ternary "https" (.Values.ingress.publicScheme | default "https") (gt (len .Values.ingress.tls) 0) }}
{{- printf "%s://%s" $scheme .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* http://<component Service>.<namespace>.svc:<port>: in-cluster address of api or payment. Args: dict root, component. */}}
{{- define "fluxus.internalUrl" -}}
{{- $v := get .root.Values .component }}
{{- printf "http://%s.%s.svc:%v" (include "fluxus.componentName" (dict "root" .root "component" .component)) .root.Release.Namespace $v.service.port }}
{{- end }}

{{/* The ConfigMap data: every non-secret FLUXUS_* variable. */}}
{{- define "fluxus.configData" -}}
{{- $base := include "fluxus.publicBaseUrl" . }}
{{- $derived := dict
      "FLUXUS_API_URL" (include "fluxus.internalUrl" (dict "root" . "component" "api"))
      "FLUXUS_PUBLIC_PAYMENT_URL" $base
      "FLUXUS_DASHBOARD_URL" $base }}
{{- range $key, $value := .Values.config }}
{{- $v := toString $value }}
{{- if and (eq $v "") (hasKey $derived $key) }}{{ $v = get $derived $key }}{{ end }}
{{ $key }}: {{ $v | quote }}
{{- end }}
FLUXUS_METRICS_PORT: {{ .Values.metrics.port | quote }}
{{- /* Empty namespace = the operator watches every namespace. */}}
FLUXUS_OPERATOR_NAMESPACE: {{ ternary "" .Release.Namespace .Values.operator.clusterWide | quote }}
{{- /* Renewal CronJobs run worker code (`fluxus renew`): the worker image. */}}
FLUXUS_OPERATOR_IMAGE: {{ include "fluxus.image" (dict "root" . "values" .Values.worker) | quote }}
{{- /* Used only without the chart's renewal pod template (the template carries its own env). */}}
FLUXUS_OPERATOR_ENV_SECRET: {{ include "fluxus.componentSecretName" (dict "root" . "component" "renewal") | quote }}
FLUXUS_OPERATOR_ENV_CONFIGMAP: {{ include "fluxus.configMapName" . | quote }}
{{- end }}

{{/*
Secret values (not yet base64). The chart never invents a production key: a GitOps tool
(Argo CD, Flux) renders without `lookup`, so a generated key would change on every sync and
make payment data at rest unreadable. With FLUXUS_ENV=production an empty FLUXUS_JWT_SECRET
or FLUXUS_DATA_ENCRYPTION_KEY fails the render. In development they are derived from the
release's namespace and name: stable across renders and upgrades, and worthless as secrets
(production never accepts them, because production never reaches this branch).
*/}}
{{- define "fluxus.secretValues" -}}
{{- $out := dict }}
{{- $production := ne (toString .Values.config.FLUXUS_ENV) "development" }}
{{- $seed := printf "%s/%s" .Release.Namespace .Release.Name }}
{{- range $key, $value := .Values.secrets.values }}
{{- $v := toString $value }}
{{- if and (eq $v "") (has $key (list "FLUXUS_JWT_SECRET" "FLUXUS_DATA_ENCRYPTION_KEY")) }}
{{- if $production }}
{{- fail (printf "secrets.values.%s is empty and FLUXUS_ENV is production: the chart does not generate production keys (every render would differ, and GitOps tools cannot read them back). Keep the keys in a Secret you manage and name it in secrets.existingSecret, or set secrets.values.%s (`fluxus keygen` makes a data-encryption key)." $key $key) }}
{{- else if eq $key "FLUXUS_JWT_SECRET" }}
{{- $v = printf "fluxus-dev-jwt/%s" $seed | sha256sum }}
{{- else }}
{{- /* A Fernet key: URL-safe base64 of 32 bytes. */}}
{{- $v = printf "fluxus-dev-data-key/%s" $seed | sha256sum | trunc 32 | b64enc | replace "+" "-" | replace "/" "_" }}
{{- end }}
{{- end }}
{{- $_ := set $out $key $v }}
{{- end }}
{{- toYaml $out }}
{{- end }}


{{/* Pod annotations that roll the pods when configuration changes. */}}
{{- define "fluxus.checksumAnnotations" -}}
checksum/config: {{ include "fluxus.configData" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include "fluxus.secretValues" . | sha256sum }}
{{- end }}
{{- end }}

{{/* envFrom for every container: the non-secret settings. Args: dict root, hook (bool: use the hook copy). */}}
{{- define "fluxus.envFrom" -}}
- configMapRef:
    name: {{ ternary (include "fluxus.hookConfigMapName" .root) (include "fluxus.configMapName" .root) (.hook | default false) }}
{{- end }}

{{/* ===================================================================================
     Pod building blocks
     =================================================================================== */}}

{{/* One probe. Args: the probe values (enabled, path, port, timings); no path: a TCP check. */}}
{{- define "fluxus.probe" -}}
{{- if .path }}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
{{- else }}
tcpSocket:
  port: {{ .port }}
{{- end }}
{{- range $k := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $k }}
{{ $k }}: {{ get $ $k }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fluxus.probes" -}}
{{- with .liveness }}{{ if .enabled }}
livenessProbe:
  {{- include "fluxus.probe" . | nindent 2 }}
{{- end }}{{ end }}
{{- with .readiness }}{{ if .enabled }}
readinessProbe:
  {{- include "fluxus.probe" . | nindent 2 }}
{{- end }}{{ end }}
{{- with .startup }}{{ if .enabled }}
startupProbe:
  {{- include "fluxus.probe" . | nindent 2 }}
{{- end }}{{ end }}
{{- end }}

{{/* Writable paths under a read-only root filesystem. */}}
{{- define "fluxus.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/fluxus
{{- end }}

{{- define "fluxus.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: data
  emptyDir:
    sizeLimit: 1Gi
{{- end }}

{{/* Environment every container gets besides envFrom. */}}
{{- define "fluxus.baseEnv" -}}
# The root filesystem is read-only: libraries that cache under $HOME write to /tmp instead.
- name: HOME
  value: /tmp
{{- end }}

{{/* Waits until the schema is at head, so no process runs against an old schema. Args: dict root, values. */}}
{{- define "fluxus.dbWaitInitContainer" -}}
- name: db-wait
  image: {{ include "fluxus.image" . | quote }}
  imagePullPolicy: {{ include "fluxus.imagePullPolicy" . }}
  command: ["fluxus"]
  args: ["db", "wait", "--timeout", {{ .root.Values.databaseWait.timeoutSeconds | quote }}]
  envFrom:
    {{- include "fluxus.envFrom" (dict "root" .root) | nindent 4 }}
  env:
    {{- include "fluxus.baseEnv" . | nindent 4 }}
    {{- include "fluxus.componentEnv" (dict "root" .root "component" "db" "secretOf" .component) | nindent 4 }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 96Mi}
    limits: {memory: 256Mi}
  volumeMounts:
    {{- include "fluxus.volumeMounts" . | nindent 4 }}
{{- end }}

{{/*
A component Deployment. Args (dict):
  root       the chart context
  component  api | payment | worker | scheduler | operator | ui
  values     the component's values
  args       the `fluxus` arguments (list)
  ports      container ports (list of {name, containerPort})
  group      (worker) queue-group name
  replicas   replica count, or nil to let an autoscaler own it
  env        (optional) EnvVar list the chart sets for this component, before values' env
  volumes, volumeMounts  (optional) chart-set volumes of the pod and its main container
*/}}
{{- define "fluxus.deployment" -}}
{{- $root := .root }}
{{- $v := .values }}
{{- $sel := dict "root" $root "component" .component "group" .group }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "fluxus.componentName" $sel }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "fluxus.componentLabels" $sel | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "fluxus.componentSelectorLabels" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "fluxus.componentSelectorLabels" $sel | nindent 8 }}
        app.kubernetes.io/part-of: fluxus
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "fluxus.checksumAnnotations" $root | nindent 8 }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ ternary (include "fluxus.operatorServiceAccountName" $root) (include "fluxus.serviceAccountName" $root) (eq .component "operator") }}
      # Only the operator talks to the Kubernetes API.
      automountServiceAccountToken: {{ eq .component "operator" }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $v.waitForSchema }}
      initContainers:
        {{- include "fluxus.dbWaitInitContainer" (dict "root" $root "values" $v "component" .component) | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "fluxus.image" (dict "root" $root "values" $v) | quote }}
          imagePullPolicy: {{ include "fluxus.imagePullPolicy" (dict "root" $root "values" $v) }}
          command: ["fluxus"]
          args:
            {{- toYaml (concat .args ($v.extraArgs | default list)) | nindent 12 }}
          ports:
            {{- toYaml .ports | nindent 12 }}
          envFrom:
            {{- include "fluxus.envFrom" (dict "root" $root) | nindent 12 }}
          env:
            {{- include "fluxus.baseEnv" $root | nindent 12 }}
            {{- include "fluxus.componentEnv" (dict "root" $root "component" .component) | nindent 12 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "fluxus.probes" $v.probes | trim | nindent 10 }}
          {{- $lifecycle := $v.lifecycle }}
          {{- if and (not $lifecycle) (has .component (list "api" "payment" "ui")) (gt (int $root.Values.shutdown.preStopSeconds) 0) }}
          {{- /* Stay up while the endpoint leaves every Service and ingress: no 502s on rollouts. */}}
          {{- $lifecycle = dict "preStop" (dict "exec" (dict "command" (list "sleep" (toString $root.Values.shutdown.preStopSeconds)))) }}
          {{- end }}
          {{- with $lifecycle }}
          lifecycle:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml ($v.resources | default dict) | nindent 12 }}
          volumeMounts:
            {{- include "fluxus.volumeMounts" $root | nindent 12 }}
            {{- with .volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "fluxus.volumes" $root | nindent 8 }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "fluxus.topologySpread" (dict "root" $root "component" .component "group" .group "values" $v) | trim }}
      topologySpreadConstraints:
        {{- . | nindent 8 }}
      {{- end }}
{{- end }}

{{/*
Topology spread of a component's pods: its own constraints (a missing labelSelector becomes
its pods' selector), else the chart's default for the components topologySpread lists —
zones, then nodes, ScheduleAnyway so a small cluster still schedules everything.
Args: dict root, component, [group], values.
*/}}
{{- define "fluxus.topologySpread" -}}
{{- $sel := dict "matchLabels" (include "fluxus.componentSelectorLabels" (dict "root" .root "component" .component "group" .group) | fromYaml) }}
{{- $ts := .root.Values.topologySpread }}
{{- $constraints := list }}
{{- range $c := .values.topologySpreadConstraints }}
{{- $constraints = append $constraints (merge (dict) $c (dict "labelSelector" $sel)) }}
{{- end }}
{{- if and (not $constraints) $ts.enabled (has .component $ts.components) }}
{{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
{{- $constraints = append $constraints (dict "maxSkew" (int $ts.maxSkew) "topologyKey" $key "whenUnsatisfiable" "ScheduleAnyway" "labelSelector" $sel) }}
{{- end }}
{{- end }}
{{- with $constraints }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
A component Service: the component's HTTP port (when it has one) and the metrics port.
Args: dict root, component, values, [group], [httpPort].
*/}}
{{- define "fluxus.service" -}}
{{- $sel := dict "root" .root "component" .component "group" .group }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "fluxus.componentName" $sel }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "fluxus.componentLabels" $sel | nindent 4 }}
  {{- with .values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .values.service.type }}
  selector:
    {{- include "fluxus.componentSelectorLabels" $sel | nindent 4 }}
  ports:
    {{- if .httpPort }}
    - name: http
      port: {{ .httpPort }}
      targetPort: http
      protocol: TCP
    {{- end }}
    - name: metrics
      port: {{ .root.Values.metrics.port }}
      targetPort: metrics
      protocol: TCP
{{- end }}

{{/* A PodDisruptionBudget. Args: dict root, component, values, [group]. */}}
{{- define "fluxus.pdb" -}}
{{- $sel := dict "root" .root "component" .component "group" .group }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "fluxus.componentName" $sel }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "fluxus.componentLabels" $sel | nindent 4 }}
spec:
  {{- if hasKey .values.pdb "minAvailable" }}
  minAvailable: {{ .values.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .values.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "fluxus.componentSelectorLabels" $sel | nindent 6 }}
{{- end }}

{{/* The metrics port every container declares. */}}
{{- define "fluxus.metricsPort" -}}
name: metrics
containerPort: {{ .Values.metrics.port }}
protocol: TCP
{{- end }}

{{/*
The renewal CronJob pod (a PodTemplateSpec) the operator copies into every CronJob it makes:
only the container's command (`fluxus renew --plan <slug>`) and the plan label are the
operator's. The app ServiceAccount without a token, the database and Redis credentials only,
the worker image, pull secrets, a writable /tmp under the read-only root.
*/}}
{{- define "fluxus.renewalPodTemplate" -}}
{{- $r := .Values.renewal }}
metadata:
  labels:
    {{- include "fluxus.componentSelectorLabels" (dict "root" . "component" "renewal") | nindent 4 }}
    app.kubernetes.io/part-of: fluxus
    {{- with $r.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $r.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "fluxus.serviceAccountName" . }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $r.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $r.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $r.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $r.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: renew
      {{- /* Renewal runs worker code: the worker image. */}}
      image: {{ include "fluxus.image" (dict "root" . "values" .Values.worker) | quote }}
      imagePullPolicy: {{ include "fluxus.imagePullPolicy" (dict "root" . "values" .Values.worker) }}
      command: ["fluxus", "renew"]
      envFrom:
        {{- include "fluxus.envFrom" (dict "root" .) | nindent 8 }}
      env:
        {{- include "fluxus.baseEnv" . | nindent 8 }}
        {{- include "fluxus.componentEnv" (dict "root" . "component" "renewal") | nindent 8 }}
        {{- with $r.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml ($r.resources | default dict) | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
{{- end }}

{{/*
Percent-decoding of a URL's user or password (sprig has no URL decoder): every printable ASCII
escape, `%25` last so an encoded `%` is never decoded twice. Arg: the string.
*/}}
{{- define "fluxus.percentDecode" -}}
{{- $s := . }}
{{- range $i := untilStep 32 127 1 }}
{{- if ne $i 37 }}
{{- $char := printf "%c" $i }}
{{- $s = replace (printf "%%%02X" $i) $char $s | replace (printf "%%%02x" $i) $char }}
{{- end }}
{{- end }}
{{- replace "%25" "%" $s }}
{{- end }}
