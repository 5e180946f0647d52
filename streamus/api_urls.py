"""/api/v1/: every app's API routes, the auth endpoints and the OpenAPI schema."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts import api as accounts_api
from apps.branding import api as branding_api
from apps.destinations import api as destinations_api
from apps.destinations import platform_views as connections_api
from apps.library import api as library_api
from apps.recordings import api as recordings_api
from apps.shows import api as shows_api
from apps.streams import api as streams_api
from apps.studio import api as studio_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from a URL instead of inline, so CSP script-src 'self' holds.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # auth
    path("auth/login", accounts_api.LoginApi.as_view(), name="api-auth-login"),
    path("auth/refresh", accounts_api.RefreshApi.as_view(), name="api-auth-refresh"),
    path("auth/logout", accounts_api.LogoutApi.as_view(), name="api-auth-logout"),
    path("auth/me", accounts_api.MeApi.as_view(), name="api-auth-me"),
    # streams and their guests
    path("streams/", streams_api.StreamListApi.as_view(), name="api-stream-list"),
    path("streams/<int:pk>/", streams_api.StreamDetailApi.as_view(), name="api-stream-detail"),
    path("streams/<int:pk>/go-live/", shows_api.StreamGoLiveApi.as_view(), name="api-stream-go-live"),
    path("streams/<int:pk>/end/", shows_api.StreamEndApi.as_view(), name="api-stream-end"),
    path("streams/<int:pk>/guests/", streams_api.StreamGuestListApi.as_view(), name="api-stream-guests"),
    # the live studio: the same actions as its websocket
    path("streams/<int:pk>/studio/", studio_api.StudioStateApi.as_view(), name="api-stream-studio"),
    path("streams/<int:pk>/studio/rtc/", studio_api.StudioRoomApi.as_view(), name="api-stream-studio-room"),
    path("streams/<int:pk>/scene/", studio_api.SceneApi.as_view(), name="api-stream-scene"),
    path("streams/<int:pk>/playback/", studio_api.PlaybackApi.as_view(), name="api-stream-playback"),
    path("streams/<int:pk>/chat/", studio_api.ChatApi.as_view(), name="api-stream-chat"),
    path("streams/<int:pk>/chat/<str:message_id>/", studio_api.ChatLineApi.as_view(), name="api-stream-chat-line"),
    path("guests/<int:pk>/", streams_api.GuestDetailApi.as_view(), name="api-guest-detail"),
    path("guests/<int:pk>/revoke/", studio_api.GuestRevokeApi.as_view(), name="api-guest-revoke"),
    path("guests/<int:pk>/stage/", studio_api.GuestStageApi.as_view(), name="api-guest-stage"),
    path("guests/<int:pk>/backstage/", studio_api.GuestBackstageApi.as_view(), name="api-guest-backstage"),
    path("guests/<int:pk>/mute/", studio_api.GuestMuteApi.as_view(), name="api-guest-mute"),
    path("guests/<int:pk>/remove/", studio_api.GuestRemoveApi.as_view(), name="api-guest-remove"),
    # a guest's own seat, by invite token (the mobile app's guest side)
    path("join/<str:token>/", studio_api.JoinApi.as_view(), name="api-join"),
    path("join/<str:token>/rtc/", studio_api.JoinRoomApi.as_view(), name="api-join-room"),
    path("join/<str:token>/mute/", studio_api.JoinMuteApi.as_view(), name="api-join-mute"),
    path("join/<str:token>/unmute-request/", studio_api.JoinUnmuteRequestApi.as_view(), name="api-join-unmute-request"),
    path("join/<str:token>/share/", studio_api.JoinShareApi.as_view(), name="api-join-share"),
    path("join/<str:token>/chat/", studio_api.JoinChatApi.as_view(), name="api-join-chat"),
    path("join/<str:token>/chat/<str:message_id>/", studio_api.JoinChatLineApi.as_view(), name="api-join-chat-line"),
    # destinations
    path(
        "streams/<int:pk>/destinations/",
        destinations_api.StreamDestinationListApi.as_view(),
        name="api-stream-destinations",
    ),
    path("destinations/<int:pk>/", destinations_api.DestinationDetailApi.as_view(), name="api-destination-detail"),
    path("destinations/<int:pk>/live/", destinations_api.DestinationLiveApi.as_view(), name="api-destination-live"),
    # connected platform accounts
    path("connections/", connections_api.ConnectionListApi.as_view(), name="api-connection-list"),
    path("connections/<int:pk>/", connections_api.ConnectionDetailApi.as_view(), name="api-connection-detail"),
    path(
        "connections/<int:pk>/destinations/",
        connections_api.ConnectionDestinationCreateApi.as_view(),
        name="api-connection-destinations",
    ),
    # branding
    path("brand-kits/", branding_api.BrandKitListApi.as_view(), name="api-brand-kit-list"),
    path("brand-kits/<int:pk>/", branding_api.BrandKitDetailApi.as_view(), name="api-brand-kit-detail"),
    path("brand-assets/<int:pk>/", branding_api.BrandAssetDetailApi.as_view(), name="api-brand-asset-detail"),
    path("brand-assets/<int:pk>/file/", branding_api.BrandAssetFileApi.as_view(), name="api-brand-asset-file"),
    # uploads (resumable), library clips, brand asset uploads, storage usage
    path("uploads/", library_api.UploadListApi.as_view(), name="api-upload-list"),
    path("uploads/<uuid:pk>/", library_api.UploadDetailApi.as_view(), name="api-upload-detail"),
    path("clips/", library_api.ClipListApi.as_view(), name="api-clip-list"),
    path("clips/<int:pk>/", library_api.ClipDetailApi.as_view(), name="api-clip-detail"),
    path("clips/<int:pk>/file/", library_api.ClipFileApi.as_view(), name="api-clip-file"),
    path("storage/", library_api.StorageUsageApi.as_view(), name="api-storage-usage"),
    path("brand-kits/<int:pk>/assets/", library_api.BrandAssetUploadApi.as_view(), name="api-brand-asset-upload"),
    # recordings
    path("recordings/", recordings_api.RecordingListApi.as_view(), name="api-recording-list"),
    path("recordings/<int:pk>/", recordings_api.RecordingDetailApi.as_view(), name="api-recording-detail"),
    path("recordings/<int:pk>/file/", recordings_api.RecordingFileApi.as_view(), name="api-recording-file"),
    # engagement: signed webhook for custom comment sources
    path("", include("apps.engagement.api_urls")),
]
