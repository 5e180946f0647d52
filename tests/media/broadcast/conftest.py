from __future__ import annotations

from tests.support.engine import make_session, show_config  # noqa: F401  (fixture)
from tests.support.rtmp import rtmp_servers, rtmps_server  # noqa: F401  (fixtures)
from tests.support.shows import _clean_show_keys, _test_scene_program  # noqa: F401  (autouse fixtures)
