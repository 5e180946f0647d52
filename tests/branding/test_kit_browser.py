"""The brand kit preview in headless Chromium: layers placed under the page CSP, moved live by the sliders."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apps.branding import services
from tests.factories import DEFAULT_PASSWORD, BrandKitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sliders_move_the_layer_and_save_the_placement(page, web, user):
    kit = BrandKitFactory(owner=user, name="Live kit", primary_colour="#102030")
    png = io.BytesIO()
    Image.new("RGBA", (200, 100), (255, 255, 255, 255)).save(png, "PNG")
    png.seek(0)
    logo = services.brand_asset_upload(kit=kit, by=user, kind="logo", upload=png, filename="logo.png")

    page.goto(f"{web.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{web.url}/")
    page.goto(f"{web.url}/brand-kits/{kit.pk}/")

    layer = page.locator(f"#brand-layer-{logo.pk}")
    canvas = page.locator("#brand-canvas")
    layer.wait_for()
    page.locator("#brand-canvas[data-ready='1']").wait_for()
    box, frame = layer.bounding_box(), canvas.bounding_box()
    assert box["x"] - frame["x"] == pytest.approx(0.02 * frame["width"], abs=2)
    assert box["width"] == pytest.approx(0.15 * frame["width"], abs=2)
    # The canvas is the program's own background; the kit's primary colour is the name tag's, as on air.
    assert page.eval_on_selector("#brand-canvas", "c => getComputedStyle(c).backgroundColor") == "rgb(16, 16, 24)"
    assert page.eval_on_selector("#brand-nametag", "t => getComputedStyle(t).backgroundColor") == "rgb(16, 32, 48)"

    # Move the X slider: the preview follows at once, and htmx saves on change.
    slider = page.locator(f"#brand-asset-{logo.pk} input[name=x]")
    slider.fill("0.5")
    box = layer.bounding_box()
    assert box["x"] - frame["x"] == pytest.approx(0.5 * frame["width"], abs=2)
    saved = False
    for _ in range(100):
        logo.refresh_from_db()
        if logo.x == 0.5:
            saved = True
            break
        page.wait_for_timeout(100)
    assert saved, "the placement was not saved"
    assert page.problems == []  # type: ignore[attr-defined]
