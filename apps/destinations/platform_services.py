"""Connected platform accounts: connect, refresh, disconnect, and the platform side of a show.

Writes are keyword-only verbs raising ValidationError with a message a creator
can act on. Tokens are decrypted here and only here, right before a platform
call, and are never logged or returned. A platform failure is stored on the
destination it concerns (status error + last_error) and never stops the
others: the show goes on to every destination that works.

The broadcast engine calls, in order:
    prepare_platform_destinations(stream=)   before pushers start (fills ingest URL + key)
    advance_platform_destinations(stream=)   a few times while video flows (YouTube -> live)
    finish_platform_destinations(stream=)    after the show ends
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.core import realtime

from .models import (
    DEFAULT_INGEST_URLS,
    ConnectedAccount,
    Platform,
    PlatformState,
    PrivacyStatus,
    StreamDestination,
)
from .platforms import CLIENTS, ErrorKind, LiveRequest, LiveSetup, PlatformClient, PlatformError, client_for
from .platforms.base import pkce_pair
from .platforms.facebook import FacebookClient
from .services import destination_limit_check

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Refresh an access token this long before it expires, so a call never races the expiry.
REFRESH_MARGIN = timedelta(minutes=5)
# A connect attempt must come back from the platform within this time.
OAUTH_STATE_MAX_AGE_SECONDS = 600
SESSION_KEY = "platform_oauth:{platform}"


@dataclass(frozen=True)
class PlatformResult:
    """What happened to one destination; `message` is plain words for the creator."""

    destination_id: int
    platform: str
    ok: bool
    message: str = ""
    kind: str = ""


# --- which platforms can be connected -------------------------------------------------


@dataclass(frozen=True)
class PlatformOption:
    platform: str
    label: str
    available: bool
    reason: str  # why it is hidden, when it is


def platform_options() -> list[PlatformOption]:
    options = []
    for cls in CLIENTS.values():
        client = cls()
        configured = client.is_configured()
        options.append(
            PlatformOption(
                platform=client.platform,
                label=client.label,
                available=configured,
                reason="" if configured else client.not_configured_message,
            )
        )
    return options


def _configured_client(platform: str) -> PlatformClient:
    if platform not in CLIENTS:
        raise ValidationError({"platform": "Choose YouTube, Twitch or Facebook."})
    client = client_for(platform)
    if not client.is_configured():
        raise ValidationError({"platform": client.not_configured_message})
    return client


def redirect_uri_for(platform: str) -> str:
    """The exact redirect URI registered with the platform: the same string at authorize and token time."""
    return settings.SITE_URL.rstrip("/") + reverse("connections:callback", kwargs={"platform": platform})


# --- connect ------------------------------------------------------------------------------


def connection_start(*, session: SessionBase, platform: str) -> str:
    """Remember a fresh `state` and PKCE verifier in this browser session; return the platform's consent URL."""
    client = _configured_client(platform)
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    session[SESSION_KEY.format(platform=platform)] = {"state": state, "verifier": verifier, "at": int(time.time())}
    return client.authorize_url(redirect_uri=redirect_uri_for(platform), state=state, code_challenge=challenge)


def connection_complete(*, user: Any, session: SessionBase, platform: str, params: dict[str, str]) -> ConnectedAccount:
    """The platform sent the browser back: check `state`, exchange the code (with the PKCE verifier), store the account.

    1. The pending attempt is taken out of the session (single use), whatever happens next.
    2. `state` must equal the one this session started with, and be recent.
    3. A denial on the consent screen is reported, not treated as an error of ours.
    4. The code is exchanged for tokens, the identity read, the account stored or updated.
    """
    client = _configured_client(platform)
    pending = session.pop(SESSION_KEY.format(platform=platform), None)
    state = params.get("state", "")
    if not pending or not state or not secrets.compare_digest(str(pending.get("state", "")), state):
        raise ValidationError(
            "This connection attempt did not start in this browser (or was already used). Start again from "
            "the Connected accounts page.",
            code="state_mismatch",
        )
    if time.time() - int(pending.get("at", 0)) > OAUTH_STATE_MAX_AGE_SECONDS:
        raise ValidationError("The connection attempt took too long. Start again.", code="state_expired")
    if params.get("error"):
        raise ValidationError(
            f"{client.label} did not grant access, so nothing was connected. Try again and allow StreamUs.",
            code="access_denied",
        )
    code = params.get("code", "")
    if not code:
        raise ValidationError(f"{client.label} sent no authorization code. Start again.", code="no_code")
    try:
        tokens = client.exchange_code(
            code=code, redirect_uri=redirect_uri_for(platform), code_verifier=pending["verifier"]
        )
        identity = client.identity(access_token=tokens.access_token)
    except PlatformError as exc:
        if exc.kind == ErrorKind.AUTH:
            # At connect time an auth refusal means the code (or its PKCE verifier) was not accepted.
            message = f"{client.label} did not accept the authorization (it expired or was already used). Start again."
            raise ValidationError(message, code="invalid_grant") from None
        raise ValidationError(exc.message, code=exc.kind.value) from None
    with transaction.atomic():
        account, _created = ConnectedAccount.objects.select_for_update().get_or_create(
            owner=user,
            platform=platform,
            external_id=identity.external_id,
            defaults={"access_token_encrypted": ""},
        )
        account.display_name = identity.display_name[:200]
        account.handle = identity.handle[:200]
        account.targets = identity.targets
        account.scopes = tokens.scopes or " ".join(client.scopes)
        account.set_tokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token if tokens.refresh_token else None,
            expires_at=_expiry(tokens.expires_in),
        )
        account.status = ConnectedAccount.Status.ACTIVE
        account.last_error = ""
        account.save()
    logger.info("platform account connected", extra={"event": "account_connected"})
    return account


def _expiry(expires_in: int | None) -> Any:
    return timezone.now() + timedelta(seconds=int(expires_in)) if expires_in else None


# --- tokens -------------------------------------------------------------------------------


def account_refresh_tokens(*, account: ConnectedAccount, force: bool = False) -> ConnectedAccount:
    """Refresh the access token if it expires within REFRESH_MARGIN (or `force`).

    The row is locked while refreshing: Twitch rotates refresh tokens, so two
    workers refreshing at once would leave one holding a dead token.
    """
    client = client_for(account.platform)
    failure: PlatformError | None = None
    with transaction.atomic():
        locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        if not force and not locked.token_expires_within(REFRESH_MARGIN):
            return locked
        try:
            tokens = client.refresh(
                access_token=locked.decrypt_access_token(), refresh_token=locked.decrypt_refresh_token()
            )
        except PlatformError as exc:
            failure = exc  # recorded after the block: raising inside it would roll the record back
        else:
            locked.set_tokens(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token if tokens.refresh_token else None,
                expires_at=_expiry(tokens.expires_in),
            )
            locked.status = ConnectedAccount.Status.ACTIVE
            locked.last_error = ""
            locked.save()
    if failure is not None:
        if failure.kind == ErrorKind.AUTH:
            _needs_reconnect(account, failure)
        raise failure
    logger.info("platform token refreshed", extra={"event": "token_refreshed"})
    return locked


def _needs_reconnect(account: ConnectedAccount, error: PlatformError) -> None:
    account.status = ConnectedAccount.Status.NEEDS_RECONNECT
    account.last_error = error.message
    ConnectedAccount.objects.filter(pk=account.pk).update(status=account.status, last_error=account.last_error)


def refresh_expiring_tokens(*, within: timedelta = timedelta(minutes=15)) -> int:
    """One sweep for beat: refresh every active account whose token expires soon. Returns how many were refreshed."""
    due = ConnectedAccount.objects.filter(
        status=ConnectedAccount.Status.ACTIVE,
        token_expires_at__isnull=False,
        token_expires_at__lte=timezone.now() + within,
    )
    refreshed = 0
    for account in due:
        try:
            account_refresh_tokens(account=account, force=True)
            refreshed += 1
        except PlatformError as exc:
            logger.warning("token refresh failed: %s", exc.kind.value)
    return refreshed


def _with_token(account: ConnectedAccount, call: Callable[[str], T]) -> T:
    """Run `call(access_token)` with a fresh token; after an auth refusal, refresh once and retry."""
    client = client_for(account.platform)
    if not client.is_configured():
        # The server lost its app credentials: not the creator's tokens' fault, so do not mark them dead.
        raise PlatformError(ErrorKind.REJECTED, client.not_configured_message, reason="not_configured")
    if account.status == ConnectedAccount.Status.NEEDS_RECONNECT:
        raise client.auth_error(reason="needs_reconnect")
    account = account_refresh_tokens(account=account)
    try:
        return call(account.decrypt_access_token())
    except PlatformError as exc:
        if exc.kind != ErrorKind.AUTH or exc.reason == "needs_reconnect":
            raise
    account = account_refresh_tokens(account=account, force=True)
    try:
        return call(account.decrypt_access_token())
    except PlatformError as exc:
        if exc.kind == ErrorKind.AUTH:
            _needs_reconnect(account, exc)
        raise


# --- disconnect ---------------------------------------------------------------------------


def account_disconnect(*, account: ConnectedAccount, by: Any) -> None:
    """Revoke the grant on the platform, forget the tokens, and tell the destinations that used it."""
    if account.owner_id != getattr(by, "pk", None):
        raise ValidationError("You can only disconnect your own accounts.")
    client = client_for(account.platform)
    try:
        if client.is_configured() and account.access_token_encrypted:
            client.revoke(access_token=account.decrypt_access_token(), refresh_token=account.decrypt_refresh_token())
    except PlatformError as exc:
        # Disconnecting must always work locally; the creator can also remove access on the platform.
        logger.warning("token revocation failed: %s", exc.kind.value)
    with transaction.atomic():
        StreamDestination.objects.filter(account=account).update(
            status=StreamDestination.Status.ERROR,
            last_error=(
                f"The {client.label} account “{account.display_name}” was disconnected. Connect it again, "
                "or remove this destination."
            ),
        )
        account.clear_tokens()
        account.delete()
    logger.info("platform account disconnected", extra={"event": "account_disconnected"})


# --- destinations on a connected account ----------------------------------------------------


def platform_destination_create(
    *,
    stream: Any,
    account: ConnectedAccount,
    by: Any,
    target_id: str = "",
    title: str = "",
    description: str = "",
    privacy: str = PrivacyStatus.PUBLIC,
    category: str = "",
    canvas: str = "",
) -> StreamDestination:
    """A destination that goes live on a connected channel; its ingest URL and key are filled at go-live."""
    if stream.owner_id != getattr(by, "pk", None) or account.owner_id != getattr(by, "pk", None):
        raise ValidationError("Choose one of your own streams and connected accounts.")
    if stream.status == stream.Status.ENDED:
        raise ValidationError("This stream has ended.")
    if account.platform == FacebookClient.platform:
        target_id = target_id or "me"
        if target_id not in {str(t.get("id")) for t in account.targets or []}:
            raise ValidationError({"target_id": "Choose your profile or one of the Pages you manage."})
    else:
        target_id = ""
    if privacy not in PrivacyStatus.values:
        raise ValidationError({"privacy": "Choose public, unlisted or private."})
    destination = StreamDestination(
        stream=stream,
        platform=account.platform,
        name=account.target_name(target_id)[:80] if target_id else account.display_name[:80],
        rtmp_url=DEFAULT_INGEST_URLS[Platform(account.platform)],
        account=account,
        platform_target_id=target_id,
        title_override=title.strip(),
        description_override=description.strip(),
        privacy=privacy,
        category=category.strip(),
    )
    if canvas:
        destination.canvas = canvas
    destination.full_clean()
    with transaction.atomic():
        # The tier's destinations-per-stream limit holds for connected channels too (stream row locked).
        destination_limit_check(
            stream=type(stream).objects.select_for_update().select_related("owner").get(pk=stream.pk)
        )
        destination.save()
        realtime.wake_show_on_commit(stream.pk)  # a live show prepares and starts it within a second
    if stream.scheduled_start and stream.scheduled_start > timezone.now():
        # Where the platform supports it the broadcast exists from now on (viewers see it coming);
        # a failure is shown on the destination and retried at go-live.
        schedule_platform_destinations(stream=stream)
        destination.refresh_from_db()
    return destination


def fresh_access_token(*, account: ConnectedAccount) -> str:
    """A valid access token for other parts of StreamUs (the chat ingest); refreshed first when close to expiry.

    Raises PlatformError (kind AUTH: the account needs reconnecting). Never log what it returns.
    """
    if account.status == ConnectedAccount.Status.NEEDS_RECONNECT:
        raise client_for(account.platform).auth_error(reason="needs_reconnect")
    return account_refresh_tokens(account=account).decrypt_access_token()


def _live_request(destination: StreamDestination, *, for_later: bool = False) -> LiveRequest:
    stream = destination.stream
    account = destination.account
    assert account is not None
    return LiveRequest(
        title=destination.title_override or stream.title,
        description=destination.description_override or stream.description,
        privacy=destination.privacy,
        scheduled_start=stream.scheduled_start,
        category=destination.category,
        external_id=account.external_id,
        handle=account.handle,
        target_id=destination.platform_target_id,
        for_later=for_later,
    )


def _setup_of(destination: StreamDestination) -> LiveSetup:
    return LiveSetup(
        broadcast_id=destination.platform_broadcast_id,
        stream_id=destination.platform_stream_id,
        chat_id=destination.chat_id,
        target_id=destination.platform_target_id,
    )


def _connected(stream: Any) -> list[StreamDestination]:
    return list(
        StreamDestination.objects.filter(stream=stream, enabled=True, account__isnull=False)
        .select_related("account", "stream")
        .order_by("pk")
    )


def _fail(
    destination: StreamDestination, exc: PlatformError, *, state: str | None = PlatformState.FAILED
) -> PlatformResult:
    destination.status = StreamDestination.Status.ERROR
    destination.last_error = exc.message
    fields = ["status", "last_error", "updated_at"]
    if state is not None:
        destination.platform_state = state
        fields.append("platform_state")
    destination.save(update_fields=fields)
    logger.warning(
        "platform destination failed: %s (%s)",
        exc.kind.value,
        exc.reason or "-",
        extra={"destination_id": destination.pk, "stream_id": destination.stream_id},
    )
    return PlatformResult(destination.pk, destination.platform, ok=False, message=exc.message, kind=exc.kind.value)


def _store_setup(destination: StreamDestination, setup: LiveSetup, *, state: str = PlatformState.CREATED) -> None:
    if setup.ingest_url:
        destination.rtmp_url = setup.ingest_url
    if setup.stream_key:
        destination.set_stream_key(setup.stream_key)
    destination.platform_broadcast_id = setup.broadcast_id or destination.platform_broadcast_id
    destination.platform_stream_id = setup.stream_id or destination.platform_stream_id
    destination.chat_id = setup.chat_id or destination.chat_id
    destination.platform_state = state
    destination.last_error = ""
    if destination.status == StreamDestination.Status.ERROR:
        destination.status = StreamDestination.Status.DISCONNECTED
    destination.full_clean(exclude=["stream", "account"])
    destination.save()


def _guarded(destination: StreamDestination, step: Callable[[], PlatformResult]) -> PlatformResult:
    """One destination's step; any failure lands on that destination only."""
    try:
        return step()
    except PlatformError as exc:
        return _fail(destination, exc)
    except ValidationError as exc:
        error = PlatformError(ErrorKind.REJECTED, " ".join(exc.messages), reason="invalid_ingest")
        return _fail(destination, error)


def schedule_platform_destinations(*, stream: Any) -> list[PlatformResult]:
    """At scheduling time, create the platform side where the platform supports it (YouTube, Facebook)."""
    results = []
    for destination in _connected(stream):
        client = client_for(destination.platform)
        if not client.supports_scheduling or destination.platform_broadcast_id or not stream.scheduled_start:
            continue

        def step(d: StreamDestination = destination, c: PlatformClient = client) -> PlatformResult:
            assert d.account is not None
            setup = _with_token(
                d.account, lambda token: c.create_live(access_token=token, request=_live_request(d, for_later=True))
            )
            _store_setup(d, setup, state=PlatformState.SCHEDULED)
            return PlatformResult(d.pk, d.platform, ok=True, message=f"Scheduled on {c.label}.")

        results.append(_guarded(destination, step))
    return results


def prepare_platform_destinations(*, stream: Any) -> list[PlatformResult]:
    """Before the pushers start: create each connected destination's platform side and store its ingest URL + key.

    A failure marks that destination (status error, last_error) and the next one is
    prepared anyway; the engine pushes only to destinations whose result is ok.
    """
    return [_prepare(destination) for destination in _connected(stream)]


def prepare_platform_destination(*, destination: StreamDestination) -> PlatformResult:
    """The same for one destination (added while the show is live). Custom RTMP destinations are always ok."""
    if destination.account_id is None:
        return PlatformResult(destination.pk, destination.platform, ok=True)
    fresh = StreamDestination.objects.select_related("account", "stream").get(pk=destination.pk)
    return _prepare(fresh)


def _prepare(destination: StreamDestination) -> PlatformResult:
    """Reuse what exists (scheduled earlier, or a resumed show), else create the platform side."""
    client = client_for(destination.platform)

    def step(d: StreamDestination = destination, c: PlatformClient = client) -> PlatformResult:
        assert d.account is not None
        if d.platform_state == PlatformState.LIVE and d.has_stream_key:
            # A media worker resuming a show after a crash: the platform side is already live.
            return PlatformResult(d.pk, d.platform, ok=True, message=f"Still live on {c.label}.")
        created = d.platform_state in (PlatformState.SCHEDULED, PlatformState.CREATED)
        if created and d.platform_broadcast_id and d.has_stream_key:
            if d.platform_state == PlatformState.SCHEDULED and isinstance(c, FacebookClient):
                # Created for later as SCHEDULED_UNPUBLISHED: switch it to LIVE_NOW.
                _with_token(d.account, lambda token: c.go_live_now(access_token=token, setup=_setup_of(d)))
            _store_setup(d, LiveSetup())
        else:
            setup = _with_token(d.account, lambda token: c.create_live(access_token=token, request=_live_request(d)))
            _store_setup(d, setup)
        return PlatformResult(d.pk, d.platform, ok=True, message=f"Ready on {c.label}.")

    return _guarded(destination, step)


def advance_platform_destinations(*, stream: Any) -> list[PlatformResult]:
    """One step while video flows: move each created broadcast to live once the platform sees the video.

    Returns a result for each destination that went live in this step; call again
    (every few seconds) until nothing is left in the `created` state.
    """
    results = []
    waiting = [d for d in _connected(stream) if d.platform_state == PlatformState.CREATED]
    for destination in waiting:
        client = client_for(destination.platform)

        def step(d: StreamDestination = destination, c: PlatformClient = client) -> PlatformResult | None:
            assert d.account is not None
            if not _with_token(d.account, lambda token: c.start_live(access_token=token, setup=_setup_of(d))):
                return None
            d.platform_state = PlatformState.LIVE
            d.save(update_fields=["platform_state", "updated_at"])
            return PlatformResult(d.pk, d.platform, ok=True, message=f"Live on {c.label}.")

        try:
            result = step()
        except PlatformError as exc:
            result = _fail(destination, exc)
        if result is not None:
            results.append(result)
    return results


def pending_platform_destinations(*, stream: Any) -> int:
    """How many connected destinations still wait for the platform to show them live."""
    return StreamDestination.objects.filter(
        stream=stream, enabled=True, account__isnull=False, platform_state=PlatformState.CREATED
    ).count()


def finish_platform_destinations(*, stream: Any) -> list[PlatformResult]:
    """After the show: end each platform side (YouTube `complete`, Facebook end_live_video), forget the keys."""
    results = []
    for destination in _connected(stream):
        if destination.platform_state not in (PlatformState.CREATED, PlatformState.LIVE):
            continue  # a scheduled-only broadcast stays for its show
        client = client_for(destination.platform)

        def step(d: StreamDestination = destination, c: PlatformClient = client) -> PlatformResult:
            assert d.account is not None
            _with_token(d.account, lambda token: c.end_live(access_token=token, setup=_setup_of(d)))
            d.platform_state = PlatformState.COMPLETE
            # A platform key is for one show; the next show gets a new one.
            d.set_stream_key("")
            d.save(update_fields=["platform_state", "stream_key_encrypted", "stream_key_hint", "updated_at"])
            return PlatformResult(d.pk, d.platform, ok=True, message=f"Ended on {c.label}.")

        results.append(_guarded(destination, step))
    return results


# --- hooks for the media worker (apps/streams/broadcast.run_show) ---------------------------
# A bug here must never take the show down: each hook logs and carries on.


def broadcast_prepare(*, stream: Any) -> set[int]:
    """Prepare connected destinations before pushers start; the ids of those that failed (do not push to them)."""
    try:
        return {r.destination_id for r in prepare_platform_destinations(stream=stream) if not r.ok}
    except Exception:  # the show goes on to the destinations that do work
        logger.exception("preparing platform destinations failed", extra={"stream_id": stream.pk})
        return set(StreamDestination.objects.filter(stream=stream, account__isnull=False).values_list("pk", flat=True))


def broadcast_finish(*, stream: Any) -> None:
    try:
        finish_platform_destinations(stream=stream)
    except Exception:  # ending on the platform must not block saving the recording
        logger.exception("ending platform destinations failed", extra={"stream_id": stream.pk})
