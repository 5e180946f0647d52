from __future__ import annotations

from tests.support.shows import _clean_show_keys, _test_scene_program  # noqa: F401  (autouse fixtures)
