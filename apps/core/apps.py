from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig as StaticFilesAppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"


class StaticFilesConfig(StaticFilesAppConfig):
    """django.contrib.staticfiles, less what we never serve: drf-spectacular-sidecar's ReDoc bundle
    (the API docs are Swagger UI) would add 30 MB and a minute of compression to every image build."""

    ignore_patterns = [*StaticFilesAppConfig.ignore_patterns, "redoc"]
