{{- define "lgsp.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lgsp.labels" -}}
app.kubernetes.io/name: lgsp-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lgsp.selector" -}}
app.kubernetes.io/name: lgsp-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lgsp.secretName" -}}
{{- default (printf "%s-secrets" (include "lgsp.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "lgsp.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{/* the environment every container of the gateway gets */}}
{{- define "lgsp.envFrom" -}}
- configMapRef:
    name: {{ include "lgsp.fullname" . }}-config
- secretRef:
    name: {{ include "lgsp.secretName" . }}
{{- end -}}

{{- define "lgsp.pod" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ add .Values.stopGraceSeconds 10 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir: {}
{{- end -}}
