from django.urls import path

from apps.branding import views as branding_views
from apps.destinations import views as destination_views
from apps.recordings import views as recording_views

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("streams/new/", views.stream_create, name="stream_create"),
    path("streams/<int:pk>/", views.stream_detail, name="stream_detail"),
    path("streams/<int:pk>/row/", views.stream_row, name="stream_row"),
    path("streams/<int:pk>/edit/", views.stream_edit, name="stream_edit"),
    path("streams/<int:pk>/delete/", views.stream_delete, name="stream_delete"),
    path("streams/<int:pk>/guests/invite/", views.guest_invite, name="guest_invite"),
    path("guests/<int:pk>/revoke/", views.guest_revoke, name="guest_revoke"),
    path(
        "streams/<int:stream_pk>/destinations/new/",
        destination_views.destination_create,
        name="destination_create",
    ),
    path("destinations/<int:pk>/row/", destination_views.destination_row, name="destination_row"),
    path("destinations/<int:pk>/edit/", destination_views.destination_edit, name="destination_edit"),
    path("destinations/<int:pk>/delete/", destination_views.destination_delete, name="destination_delete"),
    # Short names the nav and other pages use; the pages belong to their apps (mounted first in streamus/urls.py).
    path("recordings/", recording_views.recording_list, name="recordings"),
    path("brand-kits/", branding_views.kit_list, name="brand_kits"),
]
