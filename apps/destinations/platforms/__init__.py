"""Connected-account platforms. `client_for(platform)` gives the module's client; see base.py for the contract."""

from __future__ import annotations

from .base import ErrorKind, Identity, LiveRequest, LiveSetup, PlatformClient, PlatformError, TokenSet
from .facebook import FacebookClient
from .twitch import TwitchClient
from .youtube import YouTubeClient

CLIENTS: dict[str, type[PlatformClient]] = {
    YouTubeClient.platform: YouTubeClient,
    TwitchClient.platform: TwitchClient,
    FacebookClient.platform: FacebookClient,
}


def client_for(platform: str) -> PlatformClient:
    """The client for `platform`; KeyError for custom RTMP or an unknown name."""
    return CLIENTS[platform]()


__all__ = [
    "CLIENTS",
    "ErrorKind",
    "FacebookClient",
    "Identity",
    "LiveRequest",
    "LiveSetup",
    "PlatformClient",
    "PlatformError",
    "TokenSet",
    "TwitchClient",
    "YouTubeClient",
    "client_for",
]
