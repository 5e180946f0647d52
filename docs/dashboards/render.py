"""Draw the Grafana dashboards of docker/grafana/dashboards/ with matplotlib, from a Prometheus's data.

Grafana does not run on the machines StreamUs is built on, so the README's pictures of the dashboards
are drawn here: the same panels at the same places on Grafana's 24-column grid, each with the series
its queries returned. The data comes from the test show (tests/observability/test_live_show.py keeps
every panel's query_range result in var/test/observability/dashboards.json):

    make test PYTEST_ARGS=tests/observability/test_live_show.py
    .venv/bin/python docs/dashboards/render.py            # → docs/screenshots/grafana-*.png

These are drawings of the dashboards, not screenshots of Grafana: colours, fonts and details differ.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

BASE_DIR = Path(__file__).resolve().parents[2]
SNAPSHOT = BASE_DIR / "var" / "test" / "observability" / "dashboards.json"
OUT = BASE_DIR / "docs" / "screenshots"
COLUMNS, ROW_PX, COLUMN_PX = 24, 34, 66  # Grafana's grid: 24 columns, rows of ~30 px plus margins
BACKGROUND, PANEL, TEXT, MUTED, GRID = "#111217", "#181b1f", "#d8d9da", "#8e8e8e", "#2c3235"
PALETTE = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff", "#ffcb7d"]
# Units whose values are never negative, with the scale a flat 0 is drawn on.
NEVER_NEGATIVE = {"percentunit": 0.01, "percent": 1.0, "bytes": 1024.0, "Bps": 1024.0, "reqps": 0.05, "ops": 0.05}
STATE_COLOURS = {"live": "#73bf69", "connecting": "#5794f2", "reconnecting": "#f2cc0c", "error": "#f2495c"}


def fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "percentunit":
        return f"{value * 100:.1f} %"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "bytes":
        for name in ("B", "KiB", "MiB", "GiB", "TiB"):
            if abs(value) < 1024 or name == "TiB":
                return f"{value:.0f} {name}" if name == "B" else f"{value:.1f} {name}"
            value /= 1024
    if unit == "Bps":
        return fmt(value, "bytes") + "/s"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.1f} s"
    suffix = {"Kbits": " kbit/s", "fps": " fps", "reqps": " req/s", "ops": " /s", "dB": " dB", "px": " px"}.get(
        unit, ""
    )
    return f"{value:.3g}{suffix}" if abs(value) < 1000 else f"{value:,.0f}{suffix}"


def legend(template: str, metric: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), template or "")
    return text.strip() or ", ".join(f"{k}={v}" for k, v in metric.items() if k != "__name__") or "value"


def series(panel: dict[str, Any]) -> list[tuple[str, list[float], list[float]]]:
    out = []
    for target in panel["targets"]:
        for found in target["series"]:
            times = [float(t) for t, _ in found["values"]]
            values = [float(v) for _, v in found["values"]]
            out.append((legend(target["legend"], found["metric"]), times, values))
    return out


def draw_stat(ax: Any, panel: dict[str, Any]) -> None:
    found = series(panel)
    ax.set_axis_off()
    if not found:
        ax.text(0.5, 0.45, "no data", ha="center", va="center", color=MUTED, fontsize=11, transform=ax.transAxes)
        return
    # One value big in the middle; several in a grid of up to three columns, each with its name.
    columns = 1 if len(found) == 1 else min(3, len(found)) if len(found) > 2 else 1
    grid_rows = math.ceil(len(found) / columns)
    for i, (name, _times, values) in enumerate(found):
        col, row = i % columns, i // columns
        x = (col + 0.5) / columns
        y = 0.5 if len(found) == 1 else 0.85 - (row + 0.5) * (0.8 / grid_rows)
        last = next((v for v in reversed(values) if not math.isnan(v)), float("nan"))
        ax.text(
            x,
            y,
            fmt(last, panel["unit"]),
            ha="center",
            va="center",
            color=PALETTE[0] if len(found) == 1 else PALETTE[i % len(PALETTE)],
            fontsize=22 if len(found) == 1 else 12,
            fontweight="bold",
            transform=ax.transAxes,
        )
        if len(found) > 1:
            ax.text(x, y - 0.14, name, ha="center", va="center", color=MUTED, fontsize=6.5, transform=ax.transAxes)


def draw_gauge(ax: Any, panel: dict[str, Any]) -> None:
    ax.set_axis_off()
    found = series(panel)
    for i, (name, _times, values) in enumerate(found[:3]):
        last = values[-1] if values else float("nan")
        y = 0.75 - i * 0.3
        share = 0 if math.isnan(last) else max(0.0, min(1.0, last))
        colour = "#73bf69" if share < 0.7 else "#f2cc0c" if share < 0.85 else "#f2495c"
        ax.barh([y], [1.0], height=0.12, color=GRID, transform=ax.transAxes)
        ax.barh([y], [share], height=0.12, color=colour, transform=ax.transAxes)
        ax.text(
            0.5,
            y + 0.13,
            f"{name}: {fmt(last, panel['unit'])}",
            ha="center",
            color=TEXT,
            fontsize=8,
            transform=ax.transAxes,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)


def time_axis(ax: Any) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=5))


def as_dates(times: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in times]


def draw_timeseries(ax: Any, panel: dict[str, Any]) -> None:
    found = series(panel)
    if not found:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color=MUTED, transform=ax.transAxes)
    for i, (name, times, values) in enumerate(found[:8]):
        colour = STATE_COLOURS.get(name, PALETTE[i % len(PALETTE)])  # a state keeps its colour everywhere
        ax.plot(as_dates(times), values, color=colour, linewidth=1.4, label=name[:38])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: fmt(v, panel["unit"])))
    if panel["unit"] in NEVER_NEGATIVE and found:
        # These are never below 0, and a flat 0 needs a scale of its own (Grafana's soft max).
        top = max((v for _n, _t, values in found for v in values if v == v), default=0.0)
        ax.set_ylim(0, max(top * 1.2, NEVER_NEGATIVE[panel["unit"]]))
    time_axis(ax)
    if found:
        ax.legend(
            loc="lower left",
            fontsize=6.5,
            frameon=False,
            labelcolor=TEXT,
            ncol=min(3, len(found)),
            bbox_to_anchor=(0, -0.42),
        )


def draw_state_timeline(ax: Any, panel: dict[str, Any]) -> None:
    rows: dict[str, list[tuple[float, float, str]]] = {}
    for target in panel["targets"]:
        for found in target["series"]:
            key = found["metric"].get("destination_id", "?")
            state = found["metric"].get("state", "?")
            for t, v in found["values"]:
                if float(v) == 1:
                    rows.setdefault(key, []).append((float(t), float(t), state))
    step = 5.0
    for i, (key, points) in enumerate(sorted(rows.items())):
        for t, _t, state in points:
            start = datetime.fromtimestamp(t - step / 2, UTC)
            ax.barh(
                i,
                width=step / 86400,
                left=mdates.date2num(start),
                height=0.6,
                color=STATE_COLOURS.get(state, PALETTE[2]),
            )
        ax.text(
            0.005,
            (i + 0.5) / max(1, len(rows)),
            f"destination {key}",
            color=TEXT,
            fontsize=7,
            transform=ax.transAxes,
            va="center",
        )
    ax.set_yticks([])
    ax.xaxis_date()
    time_axis(ax)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STATE_COLOURS.values()]
    ax.legend(
        handles,
        list(STATE_COLOURS),
        loc="lower left",
        fontsize=6.5,
        frameon=False,
        labelcolor=TEXT,
        ncol=4,
        bbox_to_anchor=(0, -0.42),
    )


def render(dashboard: dict[str, Any], out: Path, subtitle: str) -> None:
    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    width_px, height_px = COLUMNS * COLUMN_PX, rows * ROW_PX + 60
    fig = plt.figure(figsize=(width_px / 100, height_px / 100), dpi=100, facecolor=BACKGROUND)
    fig.text(0.008, 1 - 22 / height_px, dashboard["title"], color=TEXT, fontsize=14, fontweight="bold", va="center")
    fig.text(0.992, 1 - 22 / height_px, subtitle, color=MUTED, fontsize=8, ha="right", va="center")
    top = 1 - 48 / height_px
    unit_w, unit_h = 1 / COLUMNS, (top - 0.005) / rows
    for panel in panels:
        pos = panel["gridPos"]
        left, bottom = pos["x"] * unit_w, top - (pos["y"] + pos["h"]) * unit_h
        frame = fig.add_axes((left + 0.002, bottom + 0.003, pos["w"] * unit_w - 0.004, pos["h"] * unit_h - 0.006))
        frame.set_facecolor(PANEL)
        frame.set_xticks([])
        frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(GRID)
        frame.text(
            0.02, 0.97, panel["title"], color=TEXT, fontsize=8.5, fontweight="bold", va="top", transform=frame.transAxes
        )
        # The plot area inside the panel: below the title; room for a legend under time series.
        legend_room = 0.3 if panel["type"] in ("timeseries", "state-timeline") else 0.0
        inner_h = pos["h"] * unit_h * (0.78 - legend_room)
        ax = fig.add_axes(
            (
                left + pos["w"] * unit_w * 0.11,
                bottom + pos["h"] * unit_h * (0.06 + legend_room),
                pos["w"] * unit_w * 0.85,
                inner_h,
            )
        )
        ax.set_facecolor(PANEL)
        ax.tick_params(colors=MUTED, labelsize=6.5)
        for spine in ax.spines.values():
            spine.set_color(GRID)
        ax.grid(color=GRID, linewidth=0.5)
        {"stat": draw_stat, "gauge": draw_gauge, "state-timeline": draw_state_timeline}.get(
            panel["type"], draw_timeseries
        )(ax, panel)
    fig.savefig(out, facecolor=BACKGROUND)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", nargs="?", type=Path, default=SNAPSHOT)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = json.loads(args.snapshot.read_text())
    start = datetime.fromtimestamp(data["start"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    end = datetime.fromtimestamp(data["end"], UTC).strftime("%H:%M:%S UTC")
    subtitle = f"drawn with matplotlib from the test show's Prometheus, {start} to {end}"
    for name, dashboard in data["dashboards"].items():
        path = args.out / f"grafana-{name}.png"
        render(dashboard, path, subtitle)
        print(path)


if __name__ == "__main__":
    main()
