from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    # The mobile app's universal / app links for https join URLs (empty unless configured).
    path(".well-known/apple-app-site-association", core_views.apple_app_site_association),
    path(".well-known/assetlinks.json", core_views.android_asset_links),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("api/v1/", include("streamus.api_urls")),
    path("rtc/", include("apps.rtc.urls")),
    path("connections/", include("apps.destinations.platform_urls")),
    # Before the streams include: these pages own /recordings/ and /brand-kits/.
    path("brand-kits/", include("apps.branding.urls")),
    path("library/", include("apps.library.urls")),
    path("recordings/", include("apps.recordings.urls")),
    # Comment moderation panel, studio chat (studio/<id>/comments/...).
    path("", include("apps.engagement.urls")),
    path("", include("apps.studio.urls")),
    path("", include("apps.streams.urls")),
]

# Under /api/ a URL nothing routes, or a crash, answers JSON like every other API error.
handler404 = core_views.not_found
handler500 = core_views.server_error

if settings.DEBUG or settings.ENVIRONMENT == "test":
    from django.views.static import serve

    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
