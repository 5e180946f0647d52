"""The studio's layout editor keeps a host's quick edits when the server's echoes of earlier ones arrive late.

Three arrow presses go to the server as three scene changes; each comes back as a scene graph. The echo of
the first used to reset the box to where the first press had put it, under the second and third, so three
presses right and three left did not land back where they started (CI saw it in
tests/e2e/test_studio_by_hand.py). The studio's own module, bundled by esbuild for node, is driven here with
the echoes in the worst order; the browser test covers the real socket.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.js import bundle_for_node, run_node


@pytest.fixture
def script(tmp_path: Path) -> Path:
    bundle_for_node("static/src/studio/layout_editor.js", tmp_path / "layout_editor.bundle.mjs")
    target = tmp_path / "layout_editor_echo.mjs"
    shutil.copy(Path(__file__).with_name("js") / "layout_editor_echo.mjs", target)
    return target


def test_late_echoes_of_the_hosts_own_edits_do_not_move_the_box_back(script: Path) -> None:
    seen = run_node(script)
    assert seen["sent"] == 4
    assert seen["afterFirstEcho"] == pytest.approx(0.42)  # three right, one left: not the first echo's 0.41
    assert seen["afterPresses"] == pytest.approx(0.40)
    assert seen["afterAllEchoes"] == pytest.approx(
        0.40
    )  # back where it started: echoes up to 2 px off keep the exact box
    assert seen["pendingAfterAllEchoes"] == 0
    # A change that is not an echo of ours wins at once and forgets what we were waiting for.
    assert seen["afterForeign"] == pytest.approx([0.1, 0.5], abs=1 / 480)
    assert seen["pendingAfterForeign"] == 0
