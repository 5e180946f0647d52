from django.urls import path

from . import guest_views, playback_views, views

app_name = "library"
urlpatterns = [
    path("", views.clip_list, name="clips"),
    path("clips/<int:pk>/row/", views.clip_row, name="clip_row"),
    path("clips/<int:pk>/video", views.clip_video, name="clip_video"),
    path("clips/<int:pk>/thumbnail", views.clip_thumbnail, name="clip_thumbnail"),
    path("clips/<int:pk>/rename/", views.clip_rename, name="clip_rename"),
    path("clips/<int:pk>/delete/", views.clip_delete, name="clip_delete"),
    path("playlists/", views.playlist_create, name="playlist_create"),
    path("playlists/<int:pk>/edit/", views.playlist_edit, name="playlist_edit"),
    path("playlists/<int:pk>/delete/", views.playlist_delete, name="playlist_delete"),
    # studio guests' local recordings (no account; the session holds their seat)
    path("guest-uploads/<int:stream_id>/", guest_views.guest_upload_create, name="guest_upload_create"),
    path("guest-uploads/session/<uuid:pk>/", guest_views.guest_upload, name="guest_upload"),
    # the clip a show is playing, for the studio previews (host and guests)
    path("playback/<int:stream_id>/<int:clip_id>/video", playback_views.playback_video, name="playback_video"),
]
