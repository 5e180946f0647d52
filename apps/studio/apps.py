from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The live studio: who is in it, what is on stage, the scene, chat, playback, the websocket."""

    name = "apps.studio"
    label = "studio"
