import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamus.settings")

app = Celery("streamus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Connected-account tasks live beside the platform modules.
app.autodiscover_tasks(["apps.destinations.platforms"])

# Request ids in task headers, JSON logs, metrics endpoints of pool processes and beat.
import streamus.observability  # noqa: E402, F401
