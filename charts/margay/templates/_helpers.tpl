{{/*
Names, labels and the few derived settings more than one template needs: the API address the
probes and margayctl use, whether the API needs a token, and the pod interface MTU.
*/}}

{{- define "margay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "margay.fullname" -}}
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

{{- define "margay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "margay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "margay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "margay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: margay
{{- end -}}

{{- define "margay.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The API listen address split into host and port ("[::1]:9099" → "::1", "9099"). */}}
{{- define "margay.apiHost" -}}
{{- $listen := .Values.api.listen -}}
{{- $port := regexFind "[0-9]+$" $listen -}}
{{- trimSuffix (printf ":%s" $port) $listen | trimPrefix "[" | trimSuffix "]" -}}
{{- end -}}

{{- define "margay.apiPort" -}}
{{- regexFind "[0-9]+$" .Values.api.listen -}}
{{- end -}}

{{/* "true" when the API listens on a loopback address only (no token needed). */}}
{{- define "margay.apiIsLoopback" -}}
{{- $host := include "margay.apiHost" . -}}
{{- if or (hasPrefix "127." $host) (eq $host "::1") -}}true{{- end -}}
{{- end -}}

{{/*
Where the probes and margayctl reach the API from inside the pod: a wildcard listen address
(0.0.0.0, ::, empty) is reached on 127.0.0.1, any other address as it is.
*/}}
{{- define "margay.apiClientAddress" -}}
{{- $host := include "margay.apiHost" . -}}
{{- $port := include "margay.apiPort" . -}}
{{- if or (eq $host "") (eq $host "0.0.0.0") (eq $host "::") -}}
{{- printf "127.0.0.1:%s" $port -}}
{{- else if contains ":" $host -}}
{{- printf "[%s]:%s" $host $port -}}
{{- else -}}
{{- printf "%s:%s" $host $port -}}
{{- end -}}
{{- end -}}

{{- define "margay.tokenSecretName" -}}
{{- default (printf "%s-api-token" (include "margay.fullname" .)) .Values.api.token.existingSecret -}}
{{- end -}}

{{/*
Pod interface MTU: the underlay MTU less the largest encapsulation overhead any pool uses
(VXLAN 50, IPIP 20), so a pod packet still fits once encapsulated.
*/}}
{{- define "margay.podMTU" -}}
{{- $overhead := 0 -}}
{{- range .Values.ipPools -}}
{{- if and (ne (default "Never" .ipipMode) "Never") (lt $overhead 20) -}}{{- $overhead = 20 -}}{{- end -}}
{{- if ne (default "Never" .vxlanMode) "Never" -}}{{- $overhead = 50 -}}{{- end -}}
{{- end -}}
{{- sub (int .Values.dataplane.mtu) $overhead -}}
{{- end -}}

{{/*
The agent configuration (src/config/agent.ts), as JSON (which YAML readers accept). The node
name comes from $NODENAME (the pod's spec.nodeName); the token, when there is one, is added by
the agent-config init container from the Secret, so it never sits in a ConfigMap.
*/}}
{{- define "margay.agentConfig" -}}
{{- $config := dict
  "datastore" (dict "type" "kubernetes")
  "api" (dict "listen" .Values.api.listen)
  "bgp" (dict "enabled" .Values.bgp.enabled "listenAddress" .Values.bgp.listenAddress)
  "ipv4Autodetection" .Values.nodeAddressAutodetection.ipv4
  "dataplane" (dict
    "enabled" .Values.dataplane.enabled
    "mtu" (int .Values.dataplane.mtu)
    "iptablesBackend" .Values.dataplane.iptablesBackend
    "resyncIntervalSeconds" (int .Values.dataplane.resyncIntervalSeconds)
    "routeProtocol" (int .Values.dataplane.routeProtocol))
  "logLevel" .Values.logLevel
  "secretNamespace" .Release.Namespace -}}
{{- with .Values.nodeAddressAutodetection.ipv6 -}}
{{- $_ := set $config "ipv6Autodetection" . -}}
{{- end -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{- /*
The Secrets BGP passwords name (bgp.peers[].password, bgp.nodeMeshPassword, bgp.passwordSecrets),
sorted and without duplicates, as a JSON list: the resourceNames of secrets-role.yaml.
*/ -}}
{{- define "margay.passwordSecretNames" -}}
{{- $names := list -}}
{{- range .Values.bgp.peers -}}
{{- with .password -}}
{{- $names = append $names .secretKeyRef.name -}}
{{- end -}}
{{- end -}}
{{- with .Values.bgp.nodeMeshPassword -}}
{{- $names = append $names .secretKeyRef.name -}}
{{- end -}}
{{- range .Values.bgp.passwordSecrets -}}
{{- $names = append $names . -}}
{{- end -}}
{{- $names | uniq | sortAlpha | toJson -}}
{{- end -}}
