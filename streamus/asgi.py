"""ASGI entry point: Django for HTTP, Channels for websockets.

Request bodies over their limit are refused before they are read (apps.core.bodylimit),
both by this application and, when Daphne serves it, by Daphne's own request buffer.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamus.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.core.bodylimit import BodyLimitMiddleware, install_daphne_limits  # noqa: E402
from streamus.routing import websocket_urlpatterns  # noqa: E402

install_daphne_limits()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
