"""The studio's own JavaScript modules, bundled by esbuild for node, so a test runs the code the pages run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


def bundle_for_node(module: str, out: Path) -> Path:
    """`module` (a path under the repository, e.g. static/src/studio/scene_order.js) bundled as an ES module at `out`."""
    assert ESBUILD.exists() and shutil.which("node"), "npm ci has not run (make test's setup does it)"
    options = ["--bundle", "--platform=node", "--format=esm", "--loader:.css=empty", "--log-level=warning"]
    subprocess.run([str(ESBUILD), str(ROOT / module), *options, f"--outfile={out}"], check=True, timeout=60)
    return out


def run_node(script: Path) -> dict:
    """Run `script` with node; the last line it prints, as JSON."""
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])
