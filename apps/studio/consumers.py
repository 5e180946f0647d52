"""The studio websocket, ws/studio/<stream_id>/: one per studio client (host, moderator, guest).

A thin dispatcher: it knows who is on the other end, routes each message to the service that
owns the action (apps/studio/services.py, scene.py, playback.py, chat.py, apps/shows/services.py)
and forwards the group's events by role. Every action has the same rules and side effects here as
through the REST API, the dashboard or the admin, because they all call the same functions.
Event and message names: apps/core/events.py.

Authentication
--------------
* host: the stream's owner, by Django session (the studio page is same-origin), or, for a
  bearer client (the mobile app), the JWT access token in the FIRST message
  ``{"type": "auth", "access": "..."}``.
* guest / moderator: the guest's session, set when they joined through their link, or the invite
  token in the first message ``{"type": "auth", "token": "..."}``. Tokens stay out of URLs and logs.
* A client that is neither is closed with 4401 after AUTH_TIMEOUT seconds.
* A session is checked before the socket opens: the owner or a seated guest gets it, a logged-in
  stranger is refused at the handshake (HTTP 403), and only a client without any session identity
  (the mobile app) gets an open socket to send its credentials in.
* The origin is checked by ``AllowedHostsOriginValidator`` in ``streamus/asgi.py``; frames and
  messages over 64 KB are refused by the server from their header (``apps/core/bodylimit.py``).
* A guest's session ends the moment their invite is revoked or removed (``session.ended`` from the
  service), at the instant it expires (a timer), and is checked again on every message.

Limits per socket: messages go through a token bucket (MESSAGES_PER_SECOND, MESSAGE_BURST;
``state.request``, which rebuilds the whole state, costs STATE_REQUEST_COST); a refused message gets
one ``error`` a second at most, and a client that keeps flooding (FLOOD_LIMIT refused) is closed
with 4429. One seat (the host, or one guest) holds at most presence.MAX_SOCKETS_PER_SEAT sockets;
one more is closed with 4429 before it gets any state.

Close codes: 4401 not authenticated, 4403 not allowed in this studio, 4404 no such stream,
4410 invite revoked / expired / guest removed, 4429 too many messages or sockets.

Every client message may carry a ``ref``; errors echo it so the UI can tie them to the button
that was pressed. A refused action changes nothing and tells only its sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.accounts.tokens import user_from_access_token
from apps.core import events, metrics, realtime
from apps.core.logging import bind_ids, new_request_id
from apps.core.ratelimit import TokenBucket
from apps.shows import services as shows
from apps.streams import seats
from apps.streams.models import Guest, Stream
from apps.streams.services import guest_from_token

from . import chat, playback, presence, scene, services
from .payloads import role_of
from .state import build_state

log = logging.getLogger(__name__)

# A client that connects without a session has this long to send its credentials.
AUTH_TIMEOUT = 10.0
# A guest's invite is checked again this often while connected (an expiry moved by the host, say).
GUEST_RECHECK_SECONDS = 15.0
# Per socket: a studio sends a few messages a second when the host is busy (sliders, clicks), ten at
# once when a page loads. state.request rebuilds the whole state (a handful of queries): it costs more.
MESSAGES_PER_SECOND = 10.0
MESSAGE_BURST = 30.0
STATE_REQUEST_COST = 5.0
# Refused messages before the socket is closed: a client that keeps going is not a busy host.
FLOOD_LIMIT = 50
CLOSE_TOO_MANY = 4429
# What the studio may change through scene.set (apps/studio/scene.py validates each).
SCENE_FIELDS = (
    "layout",
    "on_stage",
    "overlays",
    "banner_text",
    "host_on_stage",
    "host_muted",
    "screen_share",
    "positions",
    "featured",
    "pip_corner",
    "transition",
)

Seat = tuple[str, int | None]  # (role, guest id)


# --- who is on the other end (sync, through database_sync_to_async) ----------------------------


def _seat_from_session(stream_id: int, user: Any, session: Any) -> Seat | int:
    """(role, guest_id) for this connection, or a close code."""
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        return 4404
    if user is not None and getattr(user, "is_authenticated", False) and user.pk == stream.owner_id:
        return (events.HOST, None)
    guest_id = seats.session_seat_id(session, stream_id)
    if guest_id is None:
        return 4401
    guest = Guest.objects.filter(pk=guest_id, stream_id=stream_id).first()
    if guest is None or not guest.is_usable or guest.joined_at is None:
        return 4410
    return (role_of(guest), guest.pk)


def _seat_from_message(stream_id: int, content: dict[str, Any]) -> Seat | int:
    if isinstance(content.get("access"), str):
        user = user_from_access_token(content["access"])
        stream = Stream.objects.filter(pk=stream_id).first()
        if stream is None:
            return 4404
        if user is None:
            return 4401
        return (events.HOST, None) if user.pk == stream.owner_id else 4403
    if isinstance(content.get("token"), str):
        try:
            guest = guest_from_token(content["token"])
        except ValidationError:
            return 4410
        if guest.stream_id != stream_id:
            return 4403
        return (role_of(guest), guest.pk)
    return 4401


def _owner_id(stream_id: int) -> int | None:
    return Stream.objects.filter(pk=stream_id).values_list("owner_id", flat=True).first()


def _guest_expiry(guest_id: int) -> datetime | None:
    """When this guest's invite stops working; None if it already has."""
    guest = Guest.objects.filter(pk=guest_id).first()
    return guest.expires_at if guest is not None and guest.is_usable else None


class StudioConsumer(AsyncJsonWebsocketConsumer):
    stream_id: int
    role: str | None
    guest_id: int | None
    identity: str | None

    async def connect(self) -> None:
        self.stream_id = int(self.scope["url_route"]["kwargs"]["stream_id"])
        self.role = self.guest_id = self.identity = None
        self.groups_joined: list[str] = []
        self.timers: list[asyncio.TimerHandle] = []
        self.recheck: asyncio.Task[None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None
        self.bucket = TokenBucket(rate=MESSAGES_PER_SECOND, capacity=MESSAGE_BURST)
        self.refused = 0
        self.last_refusal_notice = 0.0
        # Who it is, from the session, before the socket opens: nothing can be sent into it until then.
        result = await database_sync_to_async(_seat_from_session)(
            self.stream_id, self.scope.get("user"), self.scope.get("session")
        )
        user = self.scope.get("user")
        if result == 4401 and user is not None and getattr(user, "is_authenticated", False):
            await self.close()  # a logged-in stranger: refused at the handshake (HTTP 403)
            return
        await self.accept()
        metrics.WEBSOCKETS_OPEN.labels("studio").inc()
        self.counted = True
        if result == 4401:
            # No session identity at all: wait for {"type": "auth", ...}.
            self._later(AUTH_TIMEOUT, lambda: self.close(code=4401))
            return
        if isinstance(result, int):
            await self.close(code=result)  # accepted first, so the client learns why (revoked, no such show)
            return
        await self._start(*result)

    def _later(self, delay: float, action: Callable[[], Awaitable[Any]]) -> None:
        loop = asyncio.get_running_loop()
        self.timers.append(loop.call_later(max(delay, 0), lambda: asyncio.ensure_future(action())))

    async def _start(self, role: str, guest_id: int | None) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        self.role, self.guest_id = role, guest_id
        groups = [realtime.stream_group(self.stream_id)]
        if role == events.HOST:
            groups.append(realtime.hosts_group(self.stream_id))
            # The host's library, whatever stream it is used in: the Media panel follows uploads and playlists.
            owner_id = await database_sync_to_async(_owner_id)(self.stream_id)
            if owner_id is not None:
                groups.append(realtime.owner_group(owner_id))
        if guest_id is not None:
            groups.append(realtime.guest_group(self.stream_id, guest_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        state = await self._state()
        you = dict(state.get("you") or {})
        self.identity = you.get("id")
        if self.identity:
            if (
                await presence.socket_join(self.stream_id, self.identity, self.channel_name)
                > presence.MAX_SOCKETS_PER_SEAT
            ):
                await presence.socket_leave(self.stream_id, self.identity, self.channel_name)
                self.identity = None
                await self.close(code=CLOSE_TOO_MANY)
                return
            self.heartbeat = asyncio.ensure_future(self._renew_presence())
            you["online"] = True
            state["you"] = you
            for person in state["participants"]:
                if person["id"] == self.identity:
                    person["online"] = True
            # The others' snapshots said offline; tell them we arrived.
            await realtime.apublish(groups[0], events.PARTICIPANT_JOINED, participant=you)
        await self.send_json(state)
        if guest_id is not None:
            expires_at = await database_sync_to_async(_guest_expiry)(guest_id)
            if expires_at is None:
                await self._end(services.EXPIRED)
                return
            # At the moment the invite expires, not at the next periodic check.
            self._later((expires_at - timezone.now()).total_seconds(), self._expired)
            self.recheck = asyncio.ensure_future(self._recheck_guest(guest_id))

    async def _renew_presence(self) -> None:
        while True:
            await asyncio.sleep(presence.RENEW_SECONDS)
            if self.identity:
                await presence.socket_renew(self.stream_id, self.identity, self.channel_name)

    async def _expired(self) -> None:
        await database_sync_to_async(services.guests_expire)()

    async def _recheck_guest(self, guest_id: int) -> None:
        while True:
            await asyncio.sleep(GUEST_RECHECK_SECONDS)
            if await database_sync_to_async(_guest_expiry)(guest_id) is None:
                await self._end(services.REVOKED)
                return

    async def _end(self, reason: str) -> None:
        await self.send_json({"type": events.SESSION_ENDED, "reason": reason})
        await self.close(code=4410)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            metrics.WEBSOCKETS_OPEN.labels("studio").dec()
            self.counted = False
        for timer in self.timers:
            timer.cancel()
        if self.recheck is not None:
            self.recheck.cancel()
        if self.heartbeat is not None:
            self.heartbeat.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.identity and not await presence.socket_leave(self.stream_id, self.identity, self.channel_name):
            await realtime.apublish(
                realtime.stream_group(self.stream_id),
                events.PARTICIPANT_UPDATED,
                participant={"id": self.identity, "online": False},
            )

    async def _state(self) -> dict[str, Any]:
        return dict(await database_sync_to_async(build_state)(self.stream_id, self.role or events.GUEST, self.guest_id))

    # --- client → server ---------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        ref = content.get("ref") if isinstance(content, dict) else None
        if not self.bucket.take(STATE_REQUEST_COST if kind == events.STATE_REQUEST else 1.0):
            await self._too_many(ref)
            return
        if not isinstance(kind, str):
            await self._error("Messages are JSON objects with a type.")
            return
        if self.role is None:
            if kind != events.AUTH:
                await self.close(code=4401)
                return
            result = await database_sync_to_async(_seat_from_message)(self.stream_id, content)
            if isinstance(result, int):
                await self.close(code=result)
            else:
                await self._start(*result)
            return
        if kind not in events.SENDS[self.role]:
            log.info("studio %s: %s may not send %s", self.stream_id, self.role, kind)
            await self._error("You are not allowed to do that in this studio.", ref)
            return
        if self.guest_id is not None and await database_sync_to_async(_guest_expiry)(self.guest_id) is None:
            await self._end(services.REVOKED)
            return
        if kind == events.PING:
            await self.send_json({"type": events.PONG, "ref": ref})
            return
        if kind == events.STATE_REQUEST:
            await self.send_json(await self._state())
            return
        # Each action gets its own id, like an HTTP request: on its log lines, the tasks it queues
        # (a go-live reaches the media process with it) and its error reports.
        bind_ids(request_id=new_request_id())
        try:
            await database_sync_to_async(self.ROUTES[kind])(self, content)
        except ValidationError as exc:
            await self._error(" ".join(exc.messages), ref)
        except PermissionDenied:
            await self._error("You are not allowed to do that in this studio.", ref)
        except (Guest.DoesNotExist, Stream.DoesNotExist, KeyError, TypeError, ValueError):
            await self._error("That participant or show does not exist.", ref)

    async def _too_many(self, ref: Any) -> None:
        """A message over the socket's rate: refused, said once a second at most, and a flood ends the socket."""
        self.refused += 1
        if self.refused >= FLOOD_LIMIT:
            await self.close(code=CLOSE_TOO_MANY)
            return
        now = asyncio.get_running_loop().time()
        if now - self.last_refusal_notice >= 1.0:
            self.last_refusal_notice = now
            await self._error("Slow down: too many messages at once.", ref)

    async def _error(self, message: str, ref: Any = None) -> None:
        await self.send_json({"type": events.ERROR, "message": message, "ref": ref})

    # Each route runs in a worker thread and calls one service; the service sends the events.

    def _stream(self) -> Stream:
        return Stream.objects.select_related("owner", "brand_kit").get(pk=self.stream_id)

    def _owner(self) -> Any:
        return self.scope["user"] if self.scope.get("user") and self.scope["user"].is_authenticated else None

    def _host(self) -> Any:
        """The stream's owner: by session, or a bearer client that proved to be them (services check it)."""
        return self._owner() or self._stream().owner

    def _target(self, content: dict[str, Any]) -> Guest:
        return Guest.objects.select_related("stream").get(pk=int(content["guest"]), stream_id=self.stream_id)

    def _me(self) -> Guest:
        assert self.guest_id is not None  # routes for guests only (events.SENDS)
        return Guest.objects.select_related("stream").get(pk=self.guest_id, stream_id=self.stream_id)

    def _author(self) -> chat.Author:
        return chat.Author.guest(self._me()) if self.guest_id is not None else chat.Author.host(self._stream())

    def route_chat_send(self, content: dict[str, Any]) -> None:
        chat.chat_send(stream_id=self.stream_id, author=self._author(), text=str(content.get("text", "")))

    def route_chat_delete(self, content: dict[str, Any]) -> None:
        chat.chat_delete(stream_id=self.stream_id, message_id=str(content["id"]), by=self._author())

    def route_share_set(self, content: dict[str, Any]) -> None:
        services.share_set(stream=self._stream(), identity=str(self.identity), on=bool(content.get("on")))

    def route_self_mute(self, content: dict[str, Any]) -> None:
        services.guest_set_own_media(
            guest=self._me(), audio=_opt_bool(content, "audio"), video=_opt_bool(content, "video")
        )

    def route_unmute_request(self, content: dict[str, Any]) -> None:
        services.guest_request_unmute(guest=self._me())

    def route_scene_set(self, content: dict[str, Any]) -> None:
        changes = {key: content[key] for key in SCENE_FIELDS if key in content}
        scene.scene_set(stream=self._stream(), by=self._host(), **changes)

    def route_guest_stage(self, content: dict[str, Any]) -> None:
        services.guest_set_stage(guest=self._target(content), by=self._host(), on_stage=bool(content.get("on_stage")))

    def route_guest_mute(self, content: dict[str, Any]) -> None:
        services.guest_set_media(
            guest=self._target(content),
            by=self._host(),
            audio=_opt_bool(content, "audio"),
            video=_opt_bool(content, "video"),
        )

    def route_guest_remove(self, content: dict[str, Any]) -> None:
        services.guest_remove(guest=self._target(content), by=self._host())

    def route_stream_go_live(self, content: dict[str, Any]) -> None:
        shows.show_go_live(stream=self._stream(), by=self._host())

    def route_stream_end(self, content: dict[str, Any]) -> None:
        shows.show_end(stream=self._stream(), by=self._host())

    def route_playback_start(self, content: dict[str, Any]) -> None:
        playback.playback_start_from_library(
            stream=self._stream(),
            by=self._host(),
            clip_id=content.get("clip"),
            playlist_id=content.get("playlist"),
            mode=str(content.get("mode") or "fullscreen"),
            transition=content.get("transition") or "cut",
        )

    def route_playback_stop(self, content: dict[str, Any]) -> None:
        playback.playback_stop(stream=self._stream(), by=self._host())

    ROUTES: dict[str, Callable[[StudioConsumer, dict[str, Any]], None]] = {
        events.CHAT_SEND: route_chat_send,
        events.CHAT_DELETE: route_chat_delete,
        events.SHARE_SET: route_share_set,
        events.SELF_MUTE: route_self_mute,
        events.UNMUTE_REQUEST: route_unmute_request,
        events.SCENE_SET: route_scene_set,
        events.GUEST_STAGE: route_guest_stage,
        events.GUEST_MUTE: route_guest_mute,
        events.GUEST_REMOVE: route_guest_remove,
        events.STREAM_GO_LIVE: route_stream_go_live,
        events.STREAM_END: route_stream_end,
        events.PLAYBACK_START: route_playback_start,
        events.PLAYBACK_STOP: route_playback_stop,
    }

    # --- server → client: group events, forwarded by role --------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type", "")
        if kind == events.SESSION_ENDED:
            await self._end(str(message.get("reason") or services.REVOKED))
        elif kind == events.STREAM_UPDATED:
            if self.role is not None:
                await self.send_json(await self._state())
        elif kind in events.SERVER_EVENTS:
            if self.role is not None and kind in events.RECEIVES[self.role]:
                await self.send_json(message)
        else:
            await super().dispatch(message)


def _opt_bool(content: dict[str, Any], key: str) -> bool | None:
    value = content.get(key)
    return None if value is None else bool(value)
