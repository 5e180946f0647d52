"""LiveKit webhooks: verifying that one really comes from our SFU.

LiveKit signs each webhook with a JWT (our API key and secret) whose `sha256`
claim is the hash of the body; anything that does not verify is refused. What
a verified event means for the studio is apps/studio/presence.py.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from livekit import api


def receive(*, body: str, authorization: str) -> api.WebhookEvent:
    """The verified event, or PermissionDenied."""
    token = authorization.removeprefix("Bearer ").strip()
    if not token:
        raise PermissionDenied("Missing webhook signature.")
    receiver = api.WebhookReceiver(api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET))
    try:
        return receiver.receive(body, token)
    except Exception as exc:  # jwt, hash and parse errors all mean "not from our SFU"
        raise PermissionDenied("Invalid webhook signature.") from exc
