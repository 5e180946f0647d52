"""Writes on accounts that are not a page's own: purging what expired."""

from __future__ import annotations

import logging

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

log = logging.getLogger(__name__)


@transaction.atomic
def credentials_purge_expired() -> dict[str, int]:
    """Delete refresh-token rows past their expiry (their blacklist rows go with them) and expired sessions.

    An expired token is refused by its signature's `exp` whatever its rows say, so nothing depends on them;
    left alone they grow by a row per refresh, forever.
    """
    now = timezone.now()
    tokens = OutstandingToken.objects.filter(expires_at__lte=now)
    token_count = tokens.count()
    tokens.delete()  # BlacklistedToken rows cascade
    sessions = Session.objects.filter(expire_date__lte=now)
    session_count = sessions.count()
    sessions.delete()
    log.info("Purged %d expired refresh token(s) and %d expired session(s).", token_count, session_count)
    return {"tokens": token_count, "sessions": session_count}
