"""/connections/: connected platform accounts (OAuth)."""

from django.urls import path

from . import platform_views

app_name = "connections"

urlpatterns = [
    path("", platform_views.connections, name="list"),
    path("<str:platform>/connect/", platform_views.connect, name="connect"),
    path("<str:platform>/callback/", platform_views.callback, name="callback"),
    path("<int:pk>/disconnect/", platform_views.disconnect, name="disconnect"),
    path("<int:pk>/destinations/", platform_views.add_destination, name="add_destination"),
]
