"""Websocket routes. Each app adds its consumers here."""

from channels.auth import AuthMiddlewareStack
from django.urls import URLPattern, path

from apps.engagement.consumers import ModerationConsumer
from apps.studio.consumers import StudioConsumer

websocket_urlpatterns: list[URLPattern] = [
    # Session + user in the scope: the host is known by their login, a guest by the session set at /join/.
    path("ws/studio/<int:stream_id>/", AuthMiddlewareStack(StudioConsumer.as_asgi())),
    # Live comment feed for the moderation panel (host and moderators only).
    path("ws/streams/<int:stream_id>/comments/", AuthMiddlewareStack(ModerationConsumer.as_asgi())),
]
