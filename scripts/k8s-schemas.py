#!/usr/bin/env python3
"""JSON schemas for kubeconform, made offline from the Kubernetes OpenAPI document.

    scripts/k8s-schemas.py SWAGGER_JSON OUT_DIR

kubeconform normally downloads its schemas from GitHub, which cannot be reached here. The same
information is in Kubernetes' own OpenAPI document (api/openapi-spec/swagger.json of the
k8s.io/kubernetes module, fetched from the Go module proxy by scripts/k8s-validate.sh). This
writes one standalone schema per kind, named as kubeconform looks them up
({{ .ResourceKind }}{{ .KindSuffix }}.json, e.g. deployment-apps-v1.json), the way
openapi2jsonschema does for kubeconform's published ones: references inlined, objects strict
(no properties the API does not define), int-or-string fields accept either.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# The API groups a StreamUs deployment may use (the whole document would be hundreds of MB inlined).
GROUPS = {"", "apps", "batch", "policy", "autoscaling", "networking.k8s.io"}


def convert(node: Any, definitions: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [convert(item, definitions, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in seen:  # recursive types (none in these groups' objects): accept anything
            return {}
        return convert(definitions[name], definitions, (*seen, name))
    if node.get("format") == "int-or-string":
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    out = {k: convert(v, definitions, seen) for k, v in node.items() if not k.startswith("x-kubernetes")}
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def main(swagger_path: str, out_dir: str) -> int:
    definitions = json.loads(Path(swagger_path).read_text())["definitions"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            group, version, kind = gvk["group"], gvk["version"], gvk["kind"]
            if group not in GROUPS or "properties" not in definition:
                continue
            suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
            schema = convert(definition, definitions, (name,))
            schema["$schema"] = "http://json-schema.org/schema#"
            # apiVersion and kind are checked by kubeconform's lookup; the file name says which.
            (out / f"{kind.lower()}{suffix}.json").write_text(json.dumps(schema))
            written += 1
    print(f"{written} schemas in {out}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
