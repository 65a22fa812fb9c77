{{/* Names: <release>-cerebro-serve, unless the release name already says it; 63 characters at most. */}}
{{- define "cerebro-serve.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cerebro-serve.postgresqlName" -}}
{{- printf "%s-postgresql" (include "cerebro-serve.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cerebro-serve.workerName" -}}
{{- printf "%s-worker" (include "cerebro-serve.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries; the selector labels take a component (server, worker, postgresql). */}}
{{- define "cerebro-serve.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cerebro-serve.selectorLabels" -}}
app.kubernetes.io/name: {{ .context.Chart.Name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Whether the store is PostgreSQL (bundled or external); otherwise SQLite in the data volume. */}}
{{- define "cerebro-serve.usesPostgresql" -}}
{{- if or .Values.postgresql.enabled .Values.externalDatabase.url -}}true{{- end -}}
{{- end -}}

{{/* CEREBRO_DATABASE_URL, without its password: libpq reads PGPASSWORD. */}}
{{- define "cerebro-serve.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- printf "postgresql://%s@%s:5432/%s" .Values.postgresql.username (include "cerebro-serve.postgresqlName" .) .Values.postgresql.database -}}
{{- else -}}
{{- .Values.externalDatabase.url -}}
{{- end -}}
{{- end -}}

{{/* Whether the pods get PGPASSWORD: always with the bundled PostgreSQL, with an external one when a password is given. */}}
{{- define "cerebro-serve.hasPassword" -}}
{{- if or .Values.postgresql.enabled .Values.externalDatabase.existingSecret .Values.externalDatabase.password -}}true{{- end -}}
{{- end -}}

{{/* The Secret and key holding the admin key, and those holding the PostgreSQL password. */}}
{{- define "cerebro-serve.adminKeySecret" -}}
{{- .Values.adminKey.existingSecret | default (include "cerebro-serve.fullname" .) -}}
{{- end -}}

{{- define "cerebro-serve.adminKeySecretKey" -}}
{{- if .Values.adminKey.existingSecret -}}{{ .Values.adminKey.existingSecretKey }}{{- else -}}api-key{{- end -}}
{{- end -}}

{{- define "cerebro-serve.passwordSecret" -}}
{{- $existing := ternary .Values.postgresql.existingSecret .Values.externalDatabase.existingSecret .Values.postgresql.enabled -}}
{{- $existing | default (include "cerebro-serve.fullname" .) -}}
{{- end -}}

{{- define "cerebro-serve.passwordSecretKey" -}}
{{- $existing := ternary .Values.postgresql.existingSecret .Values.externalDatabase.existingSecret .Values.postgresql.enabled -}}
{{- if $existing -}}
{{- ternary .Values.postgresql.existingSecretKey .Values.externalDatabase.existingSecretKey .Values.postgresql.enabled -}}
{{- else -}}postgresql-password{{- end -}}
{{- end -}}

{{/*
The server's memory request in MiB: the process at rest plus every record's share of the indexes.
request = baseMiB[image] + ceil((expectedProfiles + expectedJobs) * bytesPerRecord / 2^20)
limit   = request * (100 + limitHeadroomPercent) / 100
values.yaml says where each figure comes from.
*/}}
{{- define "cerebro-serve.memoryRequestMiB" -}}
{{- $memory := .Values.server.memory -}}
{{- $base := mul (ternary $memory.baseMiB.gpu $memory.baseMiB.cpu .Values.gpu.enabled | int64) (int64 .Values.server.workers) -}}
{{- $records := add (int64 $memory.expectedProfiles) (int64 $memory.expectedJobs) -}}
{{- $recordsMiB := div (add (mul $records (int64 $memory.bytesPerRecord)) 1048575) 1048576 -}}
{{- add $base $recordsMiB -}}
{{- end -}}

{{- define "cerebro-serve.memoryLimitMiB" -}}
{{- div (mul (include "cerebro-serve.memoryRequestMiB" . | int64) (add 100 (int64 .Values.server.memory.limitHeadroomPercent))) 100 -}}
{{- end -}}

{{/* The image of a Cerebro container: the GPU build when it gets a GPU, else the CPU build. */}}
{{- define "cerebro-serve.image" -}}
{{- $tag := ternary .context.Values.image.gpuTag .context.Values.image.cpuTag .gpu -}}
{{- printf "%s:%s" .context.Values.image.repository $tag -}}
{{- end -}}

{{/* Settings the chart sets itself: values.settings may not override them. */}}
{{- define "cerebro-serve.managedSettings" -}}
CEREBRO_HOST CEREBRO_PORT CEREBRO_DATA_DIR CEREBRO_DATABASE_URL CEREBRO_API_KEY CEREBRO_TRAINING_WORKER CEREBRO_DEVICE CEREBRO_WORKERS
{{- end -}}

{{/* Refuse the combinations that cannot work, at render time rather than in a crash loop. */}}
{{- define "cerebro-serve.validate" -}}
{{- if and .Values.postgresql.enabled .Values.externalDatabase.url -}}
{{- fail "postgresql.enabled and externalDatabase.url are exclusive: bundle PostgreSQL or name an external one" -}}
{{- end -}}
{{- if and .Values.externalDatabase.url (not (regexMatch "^postgresql://[^:@/]+@[^/]+/[^/?]+" .Values.externalDatabase.url)) -}}
{{- fail "externalDatabase.url must look like postgresql://user@host:5432/db, without a password (it goes in externalDatabase.password or externalDatabase.existingSecret)" -}}
{{- end -}}
{{- if and .Values.worker.enabled (not (include "cerebro-serve.usesPostgresql" .)) -}}
{{- fail "worker.enabled needs PostgreSQL (postgresql.enabled or externalDatabase.url): the worker shares the server's store, and SQLite on a ReadWriteOnce volume cannot be shared by a second pod" -}}
{{- end -}}
{{- if and .Values.worker.enabled (not .Values.worker.gpu) (eq (get .Values.settings "CEREBRO_BACKEND" | default "") "vllm") -}}
{{- fail "CEREBRO_BACKEND=vllm needs a GPU in the worker too (it embeds with the server's encoder): set worker.gpu=true" -}}
{{- end -}}
{{- if and .Values.worker.enabled .Values.worker.gpu (not .Values.gpu.enabled) -}}
{{- fail "worker.gpu needs gpu.enabled: the worker embeds with the server's encoder, on the same kind of device" -}}
{{- end -}}
{{- if and .Values.adminKey.value (not (regexMatch "^ask_[0-9a-f]{32}$" .Values.adminKey.value)) -}}
{{- fail "adminKey.value must be ask_ followed by 32 lowercase hex characters" -}}
{{- end -}}
{{- $managed := splitList " " (include "cerebro-serve.managedSettings" .) -}}
{{- range $name, $value := .Values.settings -}}
{{- if not (hasPrefix "CEREBRO_" $name) -}}
{{- fail (printf "settings.%s: only CEREBRO_* settings go here" $name) -}}
{{- end -}}
{{- if has $name $managed -}}
{{- fail (printf "settings.%s is set by the chart (see values.yaml)" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pod-level security context shared by the Cerebro pods: uid 10001, as the images' USER. */}}
{{- define "cerebro-serve.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "cerebro-serve.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The environment both Cerebro containers read: the settings' ConfigMap, the admin key, the database password. */}}
{{- define "cerebro-serve.envFrom" -}}
- configMapRef:
    name: {{ include "cerebro-serve.fullname" . }}
{{- end -}}

{{- define "cerebro-serve.secretEnv" -}}
- name: CEREBRO_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "cerebro-serve.adminKeySecret" . }}
      key: {{ include "cerebro-serve.adminKeySecretKey" . }}
{{- if include "cerebro-serve.hasPassword" . }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "cerebro-serve.passwordSecret" . }}
      key: {{ include "cerebro-serve.passwordSecretKey" . }}
{{- end }}
{{- end -}}

{{/* Writable places on a read-only root: /tmp (parsers, OCR) and the home (Triton's and vLLM's caches). */}}
{{- define "cerebro-serve.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/cerebro
{{- end -}}

{{- define "cerebro-serve.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.scratch.tmpSize }}
- name: home
  emptyDir:
    sizeLimit: {{ .Values.scratch.homeSize }}
{{- end -}}
