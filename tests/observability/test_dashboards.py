"""The Grafana dashboards as code: JSON Grafana provisions as it is (Grafana cannot run here, so its
structure is checked; tests/observability/test_live_show.py runs every panel's query against Prometheus)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.observability import dashboards

DOCKER = Path(__file__).resolve().parents[2] / "docker"
GRID_COLUMNS = 24
PANEL_TYPES = {"stat", "timeseries", "gauge", "state-timeline", "table", "bargauge"}


def test_both_dashboards_are_there_with_unique_ids():
    found = dashboards.load()
    assert set(found) == {"overview", "show"}
    assert {d["uid"] for d in found.values()} == {"streamus-overview", "streamus-show"}
    for dashboard in found.values():
        assert dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["uid"]


def test_panels_query_the_provisioned_prometheus_and_fit_the_grid():
    source = yaml.safe_load((DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (datasource,) = source["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    for dashboard in dashboards.load().values():
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            assert panel["type"] in PANEL_TYPES, panel["title"]
            assert panel["datasource"] == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]
            pos = panel["gridPos"]
            assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] + pos["w"] <= GRID_COLUMNS, panel["title"]
            mine = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
            assert not cells & mine, f"{panel['title']} overlaps another panel"
            cells |= mine
            refs = [t["refId"] for t in panel["targets"]]
            assert panel["targets"] and len(refs) == len(set(refs)), panel["title"]
            for target in panel["targets"]:
                assert target["expr"].strip(), panel["title"]
                used = {a or b for a, b in dashboards.VARIABLE.findall(target["expr"])}
                assert used <= dashboards.variables(dashboard), (panel["title"], used)


def test_the_show_dashboard_picks_a_show_by_stream_id():
    show = dashboards.load()["show"]
    (variable,) = show["templating"]["list"]
    assert variable["name"] == "stream_id"
    assert variable["query"]["query"] == "label_values(streamus_show_live, stream_id)"
    # Every panel of this show's own series is scoped to it (LiveKit's are server-wide: they carry no show).
    for panel in show["panels"]:
        for target in panel["targets"]:
            for metric in re.findall(r"\b(streamus_\w+)", target["expr"]):
                assert f'{metric}{{stream_id="$stream_id"' in target["expr"], (panel["title"], metric)


def test_compose_provisions_prometheus_and_grafana_with_these_files():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["monitoring"]
    # LiveKit's own endpoint, scraped as job livekit.
    assert "prometheus:\n  port: 6789" in compose["configs"]["livekit"]["content"]
    assert services["web"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    prometheus = " ".join(services["prometheus"]["volumes"])
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in prometheus
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana
    assert "./grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana
    # The metrics token reaches Prometheus as a secret file, never in the config.
    assert services["prometheus"]["secrets"] == [{"source": "metrics_token", "target": "/etc/prometheus/metrics-token"}]
