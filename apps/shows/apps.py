from django.apps import AppConfig


class ShowsConfig(AppConfig):
    """Running a live show: go-live control, the show runner in the media worker, health."""

    name = "apps.shows"
    label = "shows"
