#!/usr/bin/env bash
# Validate Kubernetes manifests against the Kubernetes API schema, offline.
#   scripts/k8s-validate.sh docker/k8s/            (any files or folders; kubeconform's arguments)
# kubeconform is built from the Go module proxy; its schemas are made from the OpenAPI document in
# the k8s.io/kubernetes module (also from the Go module proxy) by scripts/k8s-schemas.py. Both are
# cached in ~/.cache/streamus, so later runs take a second.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VERSION=v1.37.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/streamus
BIN=$CACHE/kubeconform-$KUBECONFORM_VERSION
SCHEMAS=$CACHE/k8s-schemas-$KUBERNETES_VERSION
if [ ! -x "$BIN" ]; then
  tmp=$(mktemp -d)
  (cd /tmp && GOBIN=$tmp go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION")
  mv "$tmp/kubeconform" "$BIN"; rmdir "$tmp"
fi
if [ ! -f "$SCHEMAS/deployment-apps-v1.json" ]; then
  dir=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  python3 scripts/k8s-schemas.py "$dir/api/openapi-spec/swagger.json" "$SCHEMAS.tmp" >/dev/null
  rm -rf "$SCHEMAS"; mv "$SCHEMAS.tmp" "$SCHEMAS"
fi
exec "$BIN" -strict -summary -kubernetes-version "${KUBERNETES_VERSION#v}" \
  -schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@"
