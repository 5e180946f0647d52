"""The studio (host) and the guest pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("studio/<int:stream_id>/", views.studio, name="studio"),
    path("studio/<int:stream_id>/rtc/", views.studio_rtc_token, name="studio_rtc_token"),
    path("studio/<int:stream_id>/invites/", views.studio_invite, name="studio_invite"),
    path("studio/<int:stream_id>/assets/<int:asset_id>/", views.studio_asset, name="studio_asset"),
    path("studio/<int:stream_id>/media/", views.studio_media_library, name="studio_media_library"),
    path("join/rtc/", views.guest_rtc_token, name="guest_rtc_token"),
    path("join/<str:token>/", views.guest_join, name="guest_join"),
]
