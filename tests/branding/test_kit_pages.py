"""Brand kit pages: create and edit kits, place assets (HTMX), apply a kit or a scene template to a stream."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from apps.branding import services
from apps.branding.models import BrandAsset, BrandKit, SceneTemplate
from apps.streams.models import Stream
from tests.factories import BrandKitFactory, StreamFactory


def png(size=(120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 200, 0, 255)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def kit(user):
    return BrandKitFactory(owner=user, name="Studio blue", primary_colour="#1122AA")


@pytest.fixture
def logo(kit, user):
    return services.brand_asset_upload(kit=kit, by=user, kind="logo", upload=io.BytesIO(png()), filename="logo.png")


def test_nav_link_lands_on_the_kits_page(user_client, kit):
    response = user_client.get(reverse("brand_kits"))
    assert response.resolver_match.func.__module__ == "apps.branding.views"
    assert "Studio blue" in response.content.decode()


def test_create_kit_from_the_page(user_client, user):
    response = user_client.post(
        reverse("branding:kits"),
        {"name": "Night", "primary_colour": "#000000", "accent_colour": "#FFCC00", "font": "DejaVu Serif"},
    )
    kit = BrandKit.objects.get(owner=user, name="Night")
    assert response.status_code == 302 and response["Location"] == reverse("branding:kit", args=[kit.pk])
    assert (kit.accent_colour, kit.font) == ("#FFCC00", "DejaVu Serif")


def test_bad_colour_is_a_form_error(user_client, user):
    response = user_client.post(
        reverse("branding:kits"), {"name": "Bad", "primary_colour": "red", "accent_colour": "#FFFFFF", "font": "x"}
    )
    assert response.status_code == 422
    assert "Use a colour like #1A2B3C." in response.content.decode()
    assert not BrandKit.objects.filter(owner=user).exists()


def test_kit_page_draws_the_preview_from_data_attributes(user_client, kit, logo):
    page = user_client.get(reverse("branding:kit", args=[kit.pk])).content.decode()
    assert 'data-primary="#1122AA"' in page
    assert f'id="brand-layer-{logo.pk}"' in page
    assert f'src="{reverse("branding:asset_file", args=[logo.pk])}"' in page
    assert 'data-x="0.0200"' in page and 'data-scale="0.1500"' in page
    assert f'data-placement-for="{logo.pk}"' in page
    assert "style=" not in page  # the CSP forbids inline styles; upload_placement.js places layers


def test_edit_kit_colours_and_font(user_client, kit):
    response = user_client.post(
        reverse("branding:kit", args=[kit.pk]),
        {"name": "Studio blue", "primary_colour": "#223344", "accent_colour": "#FFFFFF", "font": "Inter"},
    )
    assert response.status_code == 302
    kit.refresh_from_db()
    assert (kit.primary_colour, kit.font) == ("#223344", "Inter")


def test_place_asset_with_htmx(user_client, logo):
    response = user_client.post(
        reverse("branding:asset_place", args=[logo.pk]),
        {"x": "0.8", "y": "0.05", "scale": "0.12", "opacity": "0.7"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert f'id="brand-asset-{logo.pk}"' in response.content.decode()
    logo.refresh_from_db()
    assert (logo.x, logo.y, logo.scale, logo.opacity) == (0.8, 0.05, 0.12, 0.7)


def test_out_of_range_placement_is_refused(user_client, logo):
    response = user_client.post(
        reverse("branding:asset_place", args=[logo.pk]),
        {"x": "1.5", "y": "0", "scale": "0.1", "opacity": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    logo.refresh_from_db()
    assert logo.x == 0.02


def test_background_fills_the_canvas(kit, user):
    bg = services.brand_asset_upload(kit=kit, by=user, kind="background", upload=io.BytesIO(png((160, 90))))
    assert (bg.x, bg.y, bg.scale) == (0.0, 0.0, 1.0)


def test_apply_kit_to_a_stream_in_one_click(user_client, user, kit):
    stream = StreamFactory(owner=user)
    response = user_client.post(reverse("branding:kit_apply", args=[kit.pk]), {"stream": stream.pk})
    assert response.status_code == 302
    stream.refresh_from_db()
    assert stream.brand_kit == kit
    # Reused across streams.
    second = StreamFactory(owner=user)
    user_client.post(reverse("branding:kit_apply", args=[kit.pk]), {"stream": second.pk})
    assert Stream.objects.filter(brand_kit=kit).count() == 2


def test_cannot_apply_to_someone_elses_stream(user_client, kit, other_user):
    theirs = StreamFactory(owner=other_user)
    response = user_client.post(reverse("branding:kit_apply", args=[kit.pk]), {"stream": theirs.pk})
    assert response.status_code == 422
    theirs.refresh_from_db()
    assert theirs.brand_kit is None


def test_scene_templates_combine_layout_and_kit(user_client, user, kit):
    stream = StreamFactory(owner=user, layout="grid")
    for kind, layout in (("interview", "side_by_side"), ("presentation", "screen_share"), ("solo", "solo")):
        user_client.post(reverse("branding:template_create"), {"name": f"My {kind}", "kind": kind, "brand_kit": kit.pk})
        assert SceneTemplate.objects.get(owner=user, name=f"My {kind}").layout == layout

    template = SceneTemplate.objects.get(name="My interview")
    response = user_client.post(reverse("branding:template_apply", args=[template.pk]), {"stream": stream.pk})

    assert response.status_code == 302
    stream.refresh_from_db()
    assert (stream.layout, stream.brand_kit) == ("side_by_side", kit)
    page = user_client.get(reverse("branding:kits")).content.decode()
    assert "My presentation" in page and "Presentation" in page


def test_template_with_someone_elses_kit_is_refused(user, other_user):
    theirs = BrandKitFactory(owner=other_user)
    with pytest.raises(Exception, match="your own brand kits"):
        services.scene_template_create(owner=user, name="Sneaky", kind="solo", brand_kit=theirs)


def test_delete_asset_removes_its_file(user_client, logo, settings, django_capture_on_commit_callbacks):
    path = logo.file.path
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(reverse("branding:asset_delete", args=[logo.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not BrandAsset.objects.filter(pk=logo.pk).exists()
    import os

    assert not os.path.exists(path)


def test_upload_counts_against_the_quota(user_client, kit, user, settings):
    from apps.accounts.tiers import GiB
    from tests.factories import RecordingFactory

    RecordingFactory(stream=StreamFactory(owner=user), size_bytes=5 * GiB - 10)
    response = user_client.post(
        reverse("branding:asset_upload", args=[kit.pk]),
        {"kind": "logo", "file": SimpleUploadedFile("l.png", png(), "image/png")},
    )
    assert response.status_code == 422
    assert "Not enough storage" in response.content.decode()
    assert not kit.assets.exists()
