"""The /.well-known/ files that make https join links open the mobile app."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_not_published_until_configured(client):
    assert client.get("/.well-known/apple-app-site-association").status_code == 404
    assert client.get("/.well-known/assetlinks.json").status_code == 404


def test_ios_universal_links_cover_join_urls_only(client, settings):
    settings.MOBILE_IOS_APP_IDS = ["ABCDE12345.local.streamus.app"]
    response = client.get("/.well-known/apple-app-site-association")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "applinks": {"details": [{"appIDs": ["ABCDE12345.local.streamus.app"], "components": [{"/": "/join/*"}]}]}
    }


def test_android_app_links_name_the_package_and_its_certificate(client, settings):
    settings.MOBILE_ANDROID_PACKAGE = "local.streamus.app"
    settings.MOBILE_ANDROID_CERT_SHA256 = ["14:6D:E9:83"]
    statement = client.get("/.well-known/assetlinks.json").json()[0]
    assert statement["relation"] == ["delegate_permission/common.handle_all_urls"]
    assert statement["target"] == {
        "namespace": "android_app",
        "package_name": "local.streamus.app",
        "sha256_cert_fingerprints": ["14:6D:E9:83"],
    }
