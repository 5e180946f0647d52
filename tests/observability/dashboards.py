"""The Grafana dashboards of docker/grafana/dashboards/, read the way Grafana reads them.

`load()` gives every dashboard; `queries()` every panel target with its dashboard variables filled in;
`check()` runs each against a Prometheus (it must parse and return a series); `collect()` takes their data
over a time range, which docs/dashboards/render.py draws the README's pictures from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "dashboards"
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def load() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def variables(dashboard: dict[str, Any]) -> set[str]:
    return {v["name"] for v in dashboard.get("templating", {}).get("list", [])}


def fill(expr: str, values: dict[str, Any]) -> str:
    return VARIABLE.sub(lambda m: str(values[m.group(1) or m.group(2)]), expr)


def queries(dashboard: dict[str, Any], values: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(panel, target, PromQL with the variables filled in) for every target of every panel."""
    return [
        (panel, target, fill(target["expr"], values))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def check(prometheus: Any, *, stream_id: int) -> int:
    """Every panel's queries parse and answer at least one series now. Returns how many queries ran."""
    empty, count = [], 0
    for name, dashboard in load().items():
        for panel, target, expr in queries(dashboard, {"stream_id": stream_id}):
            count += 1
            if not prometheus.query(expr):  # a query that does not parse fails here, with Prometheus's error
                empty.append(f"{name}: {panel['title']} [{target['refId']}] {expr}")
    assert not empty, "panels with no series during the show:\n" + "\n".join(empty)
    return count


def collect(prometheus: Any, *, stream_id: int, start: float, end: float, step: float) -> dict[str, Any]:
    """Every panel's series over [start, end]: what docs/dashboards/render.py draws."""
    out: dict[str, Any] = {"start": start, "end": end, "step": step, "dashboards": {}}
    for name, dashboard in load().items():
        panels: dict[int, dict[str, Any]] = {}
        for panel, target, expr in queries(dashboard, {"stream_id": stream_id}):
            entry = panels.setdefault(
                panel["id"],
                {
                    "title": panel["title"],
                    "type": panel["type"],
                    "unit": panel.get("fieldConfig", {}).get("defaults", {}).get("unit", ""),
                    "gridPos": panel["gridPos"],
                    "targets": [],
                },
            )
            entry["targets"].append(
                {
                    "expr": expr,
                    "legend": target.get("legendFormat", ""),
                    "series": prometheus.query_range(expr, start, end, step),
                }
            )
        out["dashboards"][name] = {"title": dashboard["title"], "panels": list(panels.values())}
    return out
