"""What every rendered page must hold to: CSP, no CDN, no inline code, no stream key in clear."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import DestinationFactory, GuestFactory, RecordingFactory, StreamFactory

pytestmark = pytest.mark.django_db

SCRIPT_OR_LINK = re.compile(r"<(script|link)\b[^>]*>", re.IGNORECASE)
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


@pytest.fixture
def pages(user, canary_key):
    stream = StreamFactory(owner=user, title="Secure show")
    DestinationFactory(stream=stream, stream_key=canary_key)
    GuestFactory(stream=stream)
    RecordingFactory(stream=stream)
    return [
        reverse("dashboard"),
        reverse("stream_detail", args=[stream.id]),
        reverse("stream_edit", args=[stream.id]),
        reverse("stream_create"),
        reverse("destination_edit", args=[stream.destinations.get().id]),
        reverse("recordings"),
        reverse("brand_kits"),
        reverse("accounts:password_change"),
    ]


ANONYMOUS_PAGES = ["accounts:login", "accounts:signup", "accounts:password_reset"]


def _check_page(html: str) -> None:
    tags = SCRIPT_OR_LINK.findall(html)
    assert tags, "expected the bundle's <script> and <link> tags"
    for tag in SCRIPT_OR_LINK.finditer(html):
        assert not EXTERNAL.search(tag.group(0)), f"external asset: {tag.group(0)}"
    # The CSP allows only same-origin scripts and styles: no inline code, no style attributes.
    for script in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL | re.IGNORECASE):
        assert "src=" in script.group(1), "inline <script>"
        assert not script.group(2).strip()
    assert not re.search(r"<style\b", html, re.IGNORECASE), "inline <style>"
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "/static/dist/app.js" in html
    assert "/static/dist/app.css" in html


def test_logged_in_pages(user_client, pages, canary_key):
    for url in pages:
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = user_client.get(url, **extra)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert canary_key not in html, url
            assert canary_key[4:-4] not in html, url
            assert "script-src 'self'" in response["Content-Security-Policy"], url
            if not extra:
                _check_page(html)


def test_anonymous_pages(client):
    for name in ANONYMOUS_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "style-src 'self'" in response["Content-Security-Policy"]
        _check_page(response.content.decode())


def test_masked_key_is_what_the_pages_show(user_client, user, canary_key):
    stream = StreamFactory(owner=user)
    DestinationFactory(stream=stream, stream_key=canary_key)
    html = user_client.get(reverse("stream_detail", args=[stream.id])).content.decode()
    assert "\u2022\u2022\u2022\u2022WXYZ" in html


def test_csrf_token_rides_on_the_body_for_htmx(user_client):
    html = user_client.get(reverse("dashboard")).content.decode()
    assert re.search(r"<body[^>]*hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]+\"\}'", html)
    # htmx must not inject its indicator <style> nor eval anything (CSP).
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html


def test_built_bundle_is_served_from_static():
    """scripts/setup.sh runs `npm run build`; the pages link the result, never a CDN."""
    app_js = finders.find("dist/app.js")
    app_css = finders.find("dist/app.css")
    assert app_js and app_css, "run `npm run build` (scripts/setup.sh does)"
    with open(app_js, encoding="utf-8") as fh:
        js = fh.read()
    assert "htmx-config" in js  # htmx itself is in the bundle
    with open(app_css, encoding="utf-8") as fh:
        css = fh.read()
    assert ".htmx-indicator" in css
    assert "--primary" in css
    assert "@import" not in css  # esbuild inlined every import


def test_missing_pages_get_the_product_404(user_client):
    response = user_client.get("/streams/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Nothing on this channel" in html
    _check_page(html)


def test_500_page_renders_without_a_request():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert "/static/dist/app.css" in html
