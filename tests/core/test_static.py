"""Static files in production: `collectstatic`'s hashed, compressed copies, served by the web process.

The same command the Docker image runs (`collectstatic` with production settings) writes the
files; Daphne with production settings serves them: hashed names cached for a year, gzip and
brotli twins chosen by Accept-Encoding, the pages linking to the hashed names.
(Development and the other tests serve from the finders: see tests/smoke/.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import BASE_DIR, WebServer, free_port, server_env

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION = {
    "STREAMUS_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": "static-test-secret-key-0123456789abcdefghijklmnop",
    "STREAM_KEY_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi10ZXN0LWZlcm5ldC1rZXktMDAwMDA=",
    "LIVEKIT_API_KEY": "static-test-livekit-key",
    "LIVEKIT_API_SECRET": "static-test-livekit-secret-0123456789abcdefghij",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SITE_URL": "https://127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
    "LIVEKIT_PUBLIC_URL": "wss://127.0.0.1",
    # TLS ends at the front (Caddy) in production; this test talks to Daphne directly.
    "SECURE_SSL_REDIRECT": "false",
    "ALLOW_PRIVATE_DESTINATIONS": "false",
}


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Docker image's `collectstatic` writes (compressing takes a while: once per module)."""
    root = tmp_path_factory.mktemp("collected")
    env = {**os.environ, **PRODUCTION, "STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    return root


@pytest.fixture
def production_web(static_root: Path, tmp_path: Path) -> Iterator[WebServer]:
    from django.conf import settings

    env = server_env(redis_url=settings.REDIS_URL, extra={**PRODUCTION, "STATIC_ROOT": str(static_root)})
    server = WebServer(port=free_port(), env=env, log_path=tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


def test_hashed_compressed_files_with_long_cache_headers(production_web: WebServer, static_root: Path) -> None:
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed_css, hashed_js = manifest["dist/app.css"], manifest["dist/studio.js"]
    assert hashed_css != "dist/app.css"

    # The pages link to the hashed names.
    _, _, page = fetch(production_web.url + "/accounts/login/")
    assert f"/static/{hashed_css}".encode() in page

    status, headers, body = fetch(f"{production_web.url}/static/{hashed_css}")
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert "max-age=315360000" in headers["cache-control"] and "immutable" in headers["cache-control"]
    # The same bytes as the build, but for the source map reference, which points at the hashed map.
    assert (
        body.rsplit(b"/*# sourceMappingURL", 1)[0]
        == (BASE_DIR / "static" / "dist" / "app.css").read_bytes().rsplit(b"/*# sourceMappingURL", 1)[0]
    )

    for encoding in ("br", "gzip"):
        _, headers, compressed = fetch(f"{production_web.url}/static/{hashed_js}", **{"Accept-Encoding": encoding})
        assert headers["content-type"].startswith("text/javascript")
        assert headers["content-encoding"] == encoding
        assert len(compressed) < (BASE_DIR / "static" / "dist" / "studio.js").stat().st_size / 2

    # Swagger UI's own files (drf-spectacular-sidecar) are collected and served the same way.
    swagger_css = manifest["drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"]
    status, headers, _ = fetch(f"{production_web.url}/static/{swagger_css}")
    assert status == 200 and headers["content-type"].startswith("text/css")


def test_unknown_static_path_is_a_plain_404(production_web: WebServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        fetch(production_web.url + "/static/dist/nothing-here.js")
    assert raised.value.code == 404
