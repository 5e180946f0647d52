"""The studio websocket: one per studio client (host, moderator, guest) at ws/studio/<stream_id>/.

Authentication
--------------
* host: the stream's owner, by Django session (the studio page is same-origin).
* guest / moderator: the guest's session, set when they joined through their
  link (``/join/<token>/`` stores the guest id in the session), or, for clients
  without that session (the mobile app), the invite token in the FIRST message
  ``{"type": "auth", "token": "..."}`` so tokens stay out of URLs and access logs.
  A client that is neither gets closed with 4401 after AUTH_TIMEOUT seconds.
* The origin is checked by ``AllowedHostsOriginValidator`` in ``streamus/asgi.py``.
* A guest's invite is checked again on every message and every GUEST_RECHECK_SECONDS,
  so a revoke or an expiry made anywhere ends their session (4410).

Close codes: 4401 not authenticated, 4403 not allowed in this studio, 4404 no
such stream, 4410 invite revoked / expired / guest removed.

Server → client (every message is a JSON object with a ``type``)
-----------------------------------------------------------------
================== ===================== ==========================================================
type               who receives it       payload
================== ===================== ==========================================================
state.full         everyone, on connect  role, you, stream, participants, scene, scene_graph, chat,
                   and on state.request  destinations (host only)
participant.joined everyone              participant {id, guest_id, name, role, on_stage, audio,
participant.updated                      video, online}; a partial dict is merged by id
participant.left   everyone              participant {id, guest_id}
scene.changed      everyone              scene, scene_graph (landscape), canvases; sent by
                                         apps/streams/scene.py on every scene write
stream.status      everyone              stream {id, status, started_at, ended_at}
chat.message       everyone              message {id, author, role, text, at}
chat.deleted       everyone              message {id}
playback.progress  everyone              playback {id, clip, title, index, position, remaining, …}: the
                                         compositor's report, once a second (apps/streams/playback.py)
playback.ended     everyone              playback {id}: the clip / playlist played to the end
playback.stopped   everyone              playback {id}: the compositor stopped it (playback.stop)
destination.health host                  destination id + health fields as the broadcast engine
                                         published them (state, bitrate_kbps, fps, reconnects…)
session.ended      the removed guest     reason; the server then closes with 4410
error              the sender            message, ref (the ``ref`` the client sent, if any)
================== ===================== ==========================================================

Client → server
---------------
==================== ====================== ============================================
type                 allowed for            payload
==================== ====================== ============================================
auth                 not yet authenticated  token
ping                 everyone               → ``{"type": "pong"}``
state.request        everyone               → ``state.full``
chat.send            everyone               text
share.set            everyone               on: bool — my screen share starts / stops (screen-share layout)
self.mute            guest, moderator       audio?: bool, video?: bool
chat.delete          host, moderator        id
scene.set            host                   any field of apps/streams/scene.py: layout?, on_stage?,
                                            overlays?: {logo, banner, name_tags, …}, banner_text?,
                                            host_on_stage?, host_muted?, screen_share?, positions?
guest.stage          host                   guest (id), on_stage: bool
guest.mute           host                   guest (id), audio?: bool, video?: bool
guest.remove         host                   guest (id)
stream.go_live       host                   —
stream.end           host                   —
playback.start       host                   clip (id) or playlist (id), mode?: fullscreen|layer,
                                            transition?: cut|fade (→ scene.changed with the "clip" layer)
playback.stop        host                   — (→ scene.changed without it)
==================== ====================== ============================================

Every client message may carry a ``ref``; errors echo it so the UI can tie them
to the button that was pressed. Events come from the services' results, so a
refused action changes nothing and tells only its sender.

Groups: ``stream-{id}`` (everyone; the broadcast engine publishes health here
too, and the consumer filters by role), ``stream-{id}-hosts`` (host-only
events) and ``stream-{id}-guest-{guest_id}`` (one guest, to end their session).

Redis holds only what can be rebuilt: presence counters and the last chat
lines. Everything else in ``state.full`` comes from the database, so a client
that reconnects after a web or Redis restart gets the whole state back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from . import playback as playback_module
from . import scene as scene_module
from . import services, studio_services
from .models import Guest, Stream

log = logging.getLogger(__name__)

# A client that connects without a session has this long to send its token.
AUTH_TIMEOUT = 10.0
# Private chat lines kept for late joiners and reconnects.
CHAT_HISTORY = 100
MAX_CHAT_TEXT = 500
# Chat flood guard per connection: at most this many lines per window.
CHAT_BURST, CHAT_WINDOW_SECONDS = 8, 10.0
# Presence and chat keys expire a day after the last write: a show is ≤ 24 h.
REDIS_TTL_SECONDS = 24 * 3600
SESSION_GUESTS_KEY = "studio_guests"
# A guest's invite is checked again this often while connected, so a revoke or an
# expiry made anywhere (dashboard, API, beat) ends their session without a message.
GUEST_RECHECK_SECONDS = 15.0

HOST, MODERATOR, GUEST = "host", "moderator", "guest"
# What the studio may change through scene.set (apps/streams/scene.py validates each).
SCENE_FIELDS = (
    "layout",
    "on_stage",
    "overlays",
    "banner_text",
    "host_on_stage",
    "host_muted",
    "screen_share",
    "positions",
    "transition",
)

EVERYONE_RECEIVES = frozenset(
    {
        "participant.joined",
        "participant.updated",
        "participant.left",
        "scene.changed",
        "stream.status",
        "chat.message",
        "chat.deleted",
        # Guests see and hear the clip in their preview, so they follow its progress too.
        "playback.progress",
        "playback.ended",
        "playback.stopped",
    }
)
RECEIVES: dict[str, frozenset[str]] = {
    HOST: EVERYONE_RECEIVES | {"destination.health"},
    MODERATOR: EVERYONE_RECEIVES,
    GUEST: EVERYONE_RECEIVES,
}
EVERYONE_SENDS = frozenset({"ping", "state.request", "chat.send", "share.set"})
SENDS: dict[str, frozenset[str]] = {
    HOST: EVERYONE_SENDS
    | {
        "chat.delete",
        "scene.set",
        "guest.stage",
        "guest.mute",
        "guest.remove",
        "stream.go_live",
        "stream.end",
        "playback.start",
        "playback.stop",
    },
    MODERATOR: EVERYONE_SENDS | {"chat.delete", "self.mute"},
    GUEST: EVERYONE_SENDS | {"self.mute"},
}


def stream_group(stream_id: int) -> str:
    return f"stream-{stream_id}"


def hosts_group(stream_id: int) -> str:
    return f"stream-{stream_id}-hosts"


def guest_group(stream_id: int, guest_id: int) -> str:
    return f"stream-{stream_id}-guest-{guest_id}"


def presence_key(stream_id: int) -> str:
    return f"streamus:studio:{stream_id}:online"


def chat_key(stream_id: int) -> str:
    return f"streamus:studio:{stream_id}:chat"


def host_identity(stream: Stream) -> str:
    """The host's participant identity: the same one their LiveKit token carries (apps.rtc)."""
    return scene_module.host_identity(stream)


# --- payloads ---------------------------------------------------------------------


def stream_payload(stream: Stream) -> dict[str, Any]:
    return {
        "id": stream.pk,
        "title": stream.title,
        "status": stream.status,
        "started_at": stream.started_at.isoformat() if stream.started_at else None,
        "ended_at": stream.ended_at.isoformat() if stream.ended_at else None,
        "layout": stream.layout,
        "width": stream.size[0],
        "height": stream.size[1],
    }


def guest_payload(guest: Guest, *, online: bool | None = None) -> dict[str, Any]:
    role = MODERATOR if guest.role == Guest.Role.MODERATOR else GUEST
    data: dict[str, Any] = {
        "id": guest.identity,
        "guest_id": guest.pk,
        "name": guest.display_name or "Guest",
        "role": role,
        "on_stage": guest.on_stage,
        "audio": guest.audio_enabled,
        "video": guest.video_enabled,
    }
    if online is not None:
        data["online"] = online
    return data


def host_payload(stream: Stream, *, online: bool | None = None) -> dict[str, Any]:
    owner = stream.owner
    data: dict[str, Any] = {
        "id": host_identity(stream),
        "guest_id": None,
        "name": getattr(owner, "username", "") or "Host",
        "role": HOST,
        "on_stage": bool((stream.scene or {}).get("host_on_stage", True)),
        "audio": True,
        "video": True,
    }
    if online is not None:
        data["online"] = online
    return data


def destination_payload(destination: Any) -> dict[str, Any]:
    # Never the stream key, not even masked: the studio has no use for it.
    return {
        "id": destination.pk,
        "name": destination.display_name,
        "platform": destination.platform,
        "enabled": destination.enabled,
        "status": destination.status,
        "health": destination.health or {},
    }


def scene_payload(stream: Stream) -> dict[str, Any]:
    """The stored scene, its scene graphs (the same JSON the compositor renders) and where assets are."""
    state = scene_module.scene_state(stream)
    return {
        "scene": state["scene"],
        "scene_graph": state["canvases"]["landscape"],
        "canvases": state["canvases"],
        "assets": state["assets"],
    }


def build_state(stream_id: int, role: str, guest_id: int | None, online: set[str]) -> dict[str, Any]:
    stream = Stream.objects.select_related("owner", "brand_kit").get(pk=stream_id)
    guests = Guest.objects.filter(stream=stream, revoked_at__isnull=True, joined_at__isnull=False)
    host = host_payload(stream, online=host_identity(stream) in online)
    participants = [host] + [guest_payload(g, online=g.identity in online) for g in guests]
    mine: list[dict[str, Any] | None] = [p for p in participants if p["guest_id"] == guest_id]
    you = host if role == HOST else (mine or [None])[0]
    state: dict[str, Any] = {
        "type": "state.full",
        "role": role,
        "you": you,
        "stream": stream_payload(stream),
        "participants": participants,
        **scene_payload(stream),
    }
    if role == HOST:
        state["destinations"] = [destination_payload(d) for d in stream.destinations.all()]
    # The playback itself is in scene["playback"] (and the graphs' "clip" layer); this is the compositor's
    # last progress report, for a studio that connects mid-clip (None until the first report).
    state["playback_progress"] = (
        playback_module.playback_progress(stream.pk) if state["scene"].get("playback") else None
    )
    return state


# --- publishing from sync code (views, services, tasks) ------------------------------


def _send_on_commit(group: str, message: dict[str, Any]) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, message)
        except (aioredis.RedisError, OSError):
            # Redis down: the write stands; studios resync from state.full when they reconnect.
            log.warning("studio event %s to %s not delivered: Redis unavailable", message["type"], group)

    transaction.on_commit(send)


def publish(stream_id: int, event_type: str, *, hosts_only: bool = False, **payload: Any) -> None:
    """Send an event to a studio once the current transaction commits (sync code: views, services, tasks)."""
    group = hosts_group(stream_id) if hosts_only else stream_group(stream_id)
    _send_on_commit(group, {"type": event_type, **payload})


def publish_participant(guest: Guest, event_type: str = "participant.updated") -> None:
    publish(guest.stream_id, event_type, participant=guest_payload(guest))


def end_guest_session(stream_id: int, guest_id: int, reason: str) -> None:
    """Close a guest's websocket(s) on commit: call after revoking their invite outside the studio."""
    _send_on_commit(guest_group(stream_id, guest_id), {"type": "session.ended", "reason": reason})
    publish(stream_id, "participant.left", participant={"id": f"guest-{guest_id}", "guest_id": guest_id})


# --- database helpers (sync, called through database_sync_to_async) -----------------


def _authenticate_session(stream_id: int, user: Any, session: Any) -> tuple[str, int | None] | int:
    """(role, guest_id) for this connection, or a close code."""
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        return 4404
    if user is not None and getattr(user, "is_authenticated", False) and user.pk == stream.owner_id:
        return (HOST, None)
    guest_id = None
    if session is not None:
        guest_id = (session.get(SESSION_GUESTS_KEY) or {}).get(str(stream_id))
    if guest_id is None:
        return 4401
    guest = Guest.objects.filter(pk=guest_id, stream_id=stream_id).first()
    if guest is None or not guest.is_usable or guest.joined_at is None:
        return 4410
    return (_guest_role(guest), guest.pk)


def _authenticate_token(stream_id: int, token: str) -> tuple[str, int | None] | int:
    try:
        guest = services.guest_from_token(token)
    except ValidationError:
        return 4410
    if guest.stream_id != stream_id:
        return 4403
    if guest.joined_at is None:
        # The app asks for a name first; an unnamed seat still may listen in.
        pass
    return (_guest_role(guest), guest.pk)


def _guest_role(guest: Guest) -> str:
    return MODERATOR if guest.role in (Guest.Role.MODERATOR, Guest.Role.HOST) else GUEST


def _guest_still_usable(guest_id: int) -> bool:
    guest = Guest.objects.filter(pk=guest_id).first()
    return guest is not None and guest.is_usable


class StudioConsumer(AsyncJsonWebsocketConsumer):
    """One studio client. See the module docstring for the protocol."""

    stream_id: int
    role: str | None
    guest_id: int | None
    identity: str | None

    async def connect(self) -> None:
        self.stream_id = int(self.scope["url_route"]["kwargs"]["stream_id"])
        self.role = None
        self.guest_id = None
        self.identity = None
        self.groups_joined: list[str] = []
        self.chat_times: deque[float] = deque(maxlen=CHAT_BURST)
        # Any: redis-py's asyncio stubs type commands as "Awaitable[T] | T".
        self.redis: Any = None
        self.auth_timer: asyncio.TimerHandle | None = None
        self.recheck: asyncio.Task[None] | None = None
        await self.accept()
        result = await database_sync_to_async(_authenticate_session)(
            self.stream_id, self.scope.get("user"), self.scope.get("session")
        )
        if result == 4401:
            # No session identity: wait for {"type": "auth", "token": ...}.
            loop = asyncio.get_running_loop()
            self.auth_timer = loop.call_later(AUTH_TIMEOUT, lambda: asyncio.ensure_future(self.close(code=4401)))
            return
        if isinstance(result, int):
            await self.close(code=result)
            return
        await self._start(*result)

    async def _start(self, role: str, guest_id: int | None) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
            self.auth_timer = None
        self.role, self.guest_id = role, guest_id
        self.redis = aioredis.from_url(settings.REDIS_URL)
        groups = [stream_group(self.stream_id)]
        if role == HOST:
            groups.append(hosts_group(self.stream_id))
        if guest_id is not None:
            groups.append(guest_group(self.stream_id, guest_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        state = await self._state()
        self.identity = (state.get("you") or {}).get("id")
        await self._presence(+1)
        # The snapshot says online for everyone else; tell them we arrived.
        you = dict(state.get("you") or {})
        if you:
            you["online"] = True
            state["you"] = you
            for p in state["participants"]:
                if p["id"] == you["id"]:
                    p["online"] = True
            await self.channel_layer.group_send(
                stream_group(self.stream_id), {"type": "participant.joined", "participant": you}
            )
        await self.send_json(state)
        if guest_id is not None:
            self.recheck = asyncio.ensure_future(self._recheck_guest(guest_id))

    async def _recheck_guest(self, guest_id: int) -> None:
        while True:
            await asyncio.sleep(GUEST_RECHECK_SECONDS)
            if not await database_sync_to_async(_guest_still_usable)(guest_id):
                await self.send_json({"type": "session.ended", "reason": "Your invite is no longer valid."})
                await self.close(code=4410)
                return

    async def disconnect(self, code: int) -> None:
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        if self.recheck is not None:
            self.recheck.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.identity:
            still_here = await self._presence(-1)
            if not still_here:
                await self.channel_layer.group_send(
                    stream_group(self.stream_id),
                    {"type": "participant.updated", "participant": {"id": self.identity, "online": False}},
                )
        if self.redis is not None:
            await self.redis.aclose()

    # --- presence and chat in Redis ------------------------------------------------

    async def _presence(self, delta: int) -> bool:
        """Count this identity's connections; True while it has at least one."""
        if self.redis is None or not self.identity:
            return False
        key = presence_key(self.stream_id)
        try:
            count = int(await self.redis.hincrby(key, self.identity, delta))
            if count < 0 or (delta > 0 and count < 1):
                # Redis restarted under us and lost the earlier count.
                count = max(delta, 0)
                await self.redis.hset(key, self.identity, str(count))
            await self.redis.expire(key, REDIS_TTL_SECONDS)
            return count > 0
        except (aioredis.RedisError, OSError):
            log.warning("presence update failed for stream %s", self.stream_id)
            return delta > 0

    async def _online(self) -> set[str]:
        if self.redis is None:
            return set()
        try:
            counts = await self.redis.hgetall(presence_key(self.stream_id))
        except (aioredis.RedisError, OSError):
            return set()
        return {k.decode() for k, v in counts.items() if int(v) > 0}

    async def _chat_history(self) -> list[dict[str, Any]]:
        if self.redis is None:
            return []
        try:
            raw = await self.redis.lrange(chat_key(self.stream_id), 0, CHAT_HISTORY - 1)
        except (aioredis.RedisError, OSError):
            return []
        return [json.loads(line) for line in reversed(raw)]

    async def _state(self) -> dict[str, Any]:
        online = await self._online()
        state = await database_sync_to_async(build_state)(self.stream_id, self.role or GUEST, self.guest_id, online)
        state["chat"] = await self._chat_history()
        return state

    # --- client → server ------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("Messages are JSON objects with a type.")
            return
        kind, ref = content["type"], content.get("ref")
        if self.role is None:
            if kind != "auth" or not isinstance(content.get("token"), str):
                await self.close(code=4401)
                return
            result = await database_sync_to_async(_authenticate_token)(self.stream_id, content["token"])
            if isinstance(result, int):
                await self.close(code=result)
            else:
                await self._start(*result)
            return
        if kind not in SENDS[self.role]:
            log.info("studio %s: %s may not send %s", self.stream_id, self.role, kind)
            await self._error("You are not allowed to do that in this studio.", ref)
            return
        if self.guest_id is not None and not await database_sync_to_async(_guest_still_usable)(self.guest_id):
            await self.close(code=4410)
            return
        handler = getattr(self, "do_" + kind.replace(".", "_"))
        try:
            await handler(content)
        except ValidationError as exc:
            await self._error(" ".join(exc.messages), ref)
        except PermissionDenied:
            await self._error("You are not allowed to do that in this studio.", ref)
        except (Guest.DoesNotExist, Stream.DoesNotExist, KeyError, TypeError, ValueError):
            await self._error("That participant or show does not exist.", ref)

    async def _error(self, message: str, ref: Any = None) -> None:
        await self.send_json({"type": "error", "message": message, "ref": ref})

    async def do_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "ref": content.get("ref")})

    async def do_state_request(self, content: dict[str, Any]) -> None:
        await self.send_json(await self._state())

    async def do_chat_send(self, content: dict[str, Any]) -> None:
        text = " ".join(str(content.get("text", "")).split())
        if not text:
            raise ValidationError("Type a message first.")
        if len(text) > MAX_CHAT_TEXT:
            raise ValidationError(f"Keep messages under {MAX_CHAT_TEXT} characters.")
        now = time.monotonic()
        if len(self.chat_times) == CHAT_BURST and now - self.chat_times[0] < CHAT_WINDOW_SECONDS:
            raise ValidationError("Slow down a little: too many messages at once.")
        self.chat_times.append(now)
        author = await self._my_name()
        message = {
            "id": uuid.uuid4().hex,
            "author": author,
            "author_id": self.identity,
            "role": self.role,
            "text": text,
            "at": timezone.now().isoformat(),
        }
        if self.redis is not None:
            try:
                key = chat_key(self.stream_id)
                await self.redis.lpush(key, json.dumps(message))
                await self.redis.ltrim(key, 0, CHAT_HISTORY - 1)
                await self.redis.expire(key, REDIS_TTL_SECONDS)
            except (aioredis.RedisError, OSError):
                log.warning("chat history write failed for stream %s", self.stream_id)
        await self.channel_layer.group_send(stream_group(self.stream_id), {"type": "chat.message", "message": message})

    async def _my_name(self) -> str:
        def name() -> str:
            if self.guest_id is not None:
                return Guest.objects.get(pk=self.guest_id).display_name or "Guest"
            stream = Stream.objects.select_related("owner").get(pk=self.stream_id)
            return str(host_payload(stream)["name"])

        return await database_sync_to_async(name)()

    async def do_chat_delete(self, content: dict[str, Any]) -> None:
        message_id = str(content["id"])
        if self.redis is not None:
            key = chat_key(self.stream_id)
            for line in await self.redis.lrange(key, 0, CHAT_HISTORY - 1):
                if json.loads(line).get("id") == message_id:
                    await self.redis.lrem(key, 1, line)
        await self.channel_layer.group_send(
            stream_group(self.stream_id), {"type": "chat.deleted", "message": {"id": message_id}}
        )

    async def do_self_mute(self, content: dict[str, Any]) -> None:
        def mute() -> dict[str, Any]:
            guest = Guest.objects.select_related("stream").get(pk=int(self.guest_id or 0))
            guest = studio_services.guest_set_media(
                guest=guest, by=guest, audio=_opt_bool(content, "audio"), video=_opt_bool(content, "video")
            )
            return guest_payload(guest)

        participant = await database_sync_to_async(mute)()
        await self._broadcast("participant.updated", participant=participant)

    async def do_share_set(self, content: dict[str, Any]) -> None:
        """Start / stop my own screen share: the scene shows it with the screen-share layout.

        The scene service runs as the system (by=None): this consumer has already
        established that the sharer is the person asking, and nobody may share for someone else.
        """
        on = bool(content.get("on"))
        previous_key = f"streamus:studio:{self.stream_id}:layout_before_share"

        def share(previous: str | None) -> str | None:
            stream = Stream.objects.select_related("owner").get(pk=self.stream_id)
            if on and self.guest_id is not None and not Guest.objects.filter(pk=self.guest_id, on_stage=True).exists():
                # The host decides what goes on air: a guest waiting backstage cannot take the program over.
                raise ValidationError("Only people on stage can share their screen; the host brings you on stage.")
            current = (stream.scene or {}).get("layout") or stream.layout
            sharer = (stream.scene or {}).get("screen_share")
            if on:
                scene_module.scene_set(stream=stream, by=None, screen_share=self.identity, layout="screen_share")
                return current if current != "screen_share" else previous
            if sharer != self.identity:
                return previous  # someone else's share stays up
            changes: dict[str, Any] = {"screen_share": None}
            if current == "screen_share":
                changes["layout"] = previous or "grid"
            scene_module.scene_set(stream=stream, by=None, **changes)
            return None

        previous = None
        if self.redis is not None:
            raw = await self.redis.get(previous_key)
            previous = raw.decode() if raw else None
        remembered = await database_sync_to_async(share)(previous)
        if self.redis is not None:
            if remembered:
                await self.redis.set(previous_key, remembered, ex=REDIS_TTL_SECONDS)
            else:
                await self.redis.delete(previous_key)

    # --- host actions: each calls one service as the stream owner ---------------------

    def _owner(self) -> Any:
        return self.scope["user"]

    def _guest(self, content: dict[str, Any]) -> Guest:
        return Guest.objects.select_related("stream").get(pk=int(content["guest"]), stream_id=self.stream_id)

    async def do_scene_set(self, content: dict[str, Any]) -> None:
        # The scene service publishes scene.changed to the group itself (and to the compositor).
        changes = {k: content[k] for k in SCENE_FIELDS if k in content}

        def update() -> dict[str, Any]:
            stream = Stream.objects.select_related("owner").get(pk=self.stream_id)
            scene_module.scene_set(stream=stream, by=self._owner(), **changes)
            return host_payload(Stream.objects.select_related("owner").get(pk=self.stream_id))

        host = await database_sync_to_async(update)()
        if "host_on_stage" in changes or "on_stage" in changes:
            await self._broadcast("participant.updated", participant=host)

    async def do_guest_stage(self, content: dict[str, Any]) -> None:
        def stage() -> dict[str, Any]:
            guest = self._guest(content)
            if content.get("on_stage"):
                guest = services.guest_bring_on_stage(guest=guest, by=self._owner())
            else:
                guest = services.guest_send_backstage(guest=guest, by=self._owner())
            scene_module.scene_publish(stream_id=self.stream_id)
            return guest_payload(guest)

        participant = await database_sync_to_async(stage)()
        await self._broadcast("participant.updated", participant=participant)

    async def do_guest_mute(self, content: dict[str, Any]) -> None:
        def mute() -> dict[str, Any]:
            guest = studio_services.guest_set_media(
                guest=self._guest(content),
                by=self._owner(),
                audio=_opt_bool(content, "audio"),
                video=_opt_bool(content, "video"),
            )
            for kind in ("audio", "video"):
                wanted = _opt_bool(content, kind)
                if wanted is not None:
                    _rtc_call(
                        "rtc_mute",
                        stream=guest.stream,
                        by=self._owner(),
                        identity=guest.identity,
                        kind=kind,
                        muted=not wanted,
                    )
            return guest_payload(guest)

        participant = await database_sync_to_async(mute)()
        await self._broadcast("participant.updated", participant=participant)

    async def do_guest_remove(self, content: dict[str, Any]) -> None:
        def remove() -> Guest:
            guest = services.guest_revoke(guest=self._guest(content), by=self._owner(), reason="The host removed you.")
            # Revoked first (above), so a failing SFU call cannot leave the invite usable.
            _rtc_call("rtc_remove_participant", stream=guest.stream, by=self._owner(), identity=guest.identity)
            scene_module.scene_publish(stream_id=self.stream_id)
            return guest

        guest = await database_sync_to_async(remove)()
        await self._broadcast("participant.left", participant={"id": guest.identity, "guest_id": guest.pk})
        await self.channel_layer.group_send(
            guest_group(self.stream_id, guest.pk), {"type": "session.ended", "reason": "The host removed you."}
        )

    async def do_stream_go_live(self, content: dict[str, Any]) -> None:
        await self._stream_transition(services.stream_go_live)

    async def do_stream_end(self, content: dict[str, Any]) -> None:
        await self._stream_transition(services.stream_end)

    async def _stream_transition(self, service: Any) -> None:
        def run() -> dict[str, Any]:
            stream = Stream.objects.select_related("owner").get(pk=self.stream_id)
            return stream_payload(service(stream=stream, by=self._owner()))

        await self._broadcast("stream.status", stream=await database_sync_to_async(run)())

    async def do_playback_start(self, content: dict[str, Any]) -> None:
        # The service publishes scene.changed (with the "clip" layer) to the group and the compositor.
        def start() -> None:
            from apps.library.models import MediaClip, Playlist

            stream = Stream.objects.select_related("owner", "brand_kit").get(pk=self.stream_id)
            owner = self._owner()
            clip = playlist = None
            # Another owner's clip reads as missing, like everywhere else (no probing ids across accounts).
            if content.get("playlist") is not None:
                playlist = Playlist.objects.filter(pk=int(content["playlist"]), owner=owner).first()
                if playlist is None:
                    raise ValidationError("This playlist is not in your library.")
            elif content.get("clip") is not None:
                clip = MediaClip.objects.filter(pk=int(content["clip"]), owner=owner).first()
                if clip is None:
                    raise ValidationError("This clip is not in your library.")
            playback_module.playback_start(
                stream=stream,
                by=owner,
                clip=clip,
                playlist=playlist,
                mode=str(content.get("mode") or "fullscreen"),
                transition=content.get("transition") or "cut",
            )

        await database_sync_to_async(start)()

    async def do_playback_stop(self, content: dict[str, Any]) -> None:
        def stop() -> None:
            stream = Stream.objects.select_related("owner", "brand_kit").get(pk=self.stream_id)
            playback_module.playback_stop(stream=stream, by=self._owner())

        await database_sync_to_async(stop)()

    async def _broadcast(self, event_type: str, **payload: Any) -> None:
        await self.channel_layer.group_send(stream_group(self.stream_id), {"type": event_type, **payload})

    # --- server → client: group events, filtered by role ------------------------------

    async def _forward(self, event: dict[str, Any]) -> None:
        if self.role is not None and event["type"] in RECEIVES[self.role]:
            await self.send_json(event)

    async def participant_joined(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def participant_updated(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def participant_left(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def scene_changed(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def stream_status(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def chat_deleted(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def destination_health(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def playback_progress(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def playback_ended(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def playback_stopped(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
        await self.close(code=4410)


def _opt_bool(content: dict[str, Any], key: str) -> bool | None:
    value = content.get(key)
    return None if value is None else bool(value)


def _rtc_call(name: str, **kwargs: Any) -> None:
    """Apply a moderation action in the LiveKit room (apps.rtc).

    The database row is already the source of truth and committed: a participant
    who is not in the room, or an SFU that is down, must not undo it.
    """
    from apps.rtc import services as rtc_services

    try:
        getattr(rtc_services, name)(**kwargs)
    except ValidationError:
        pass  # not in the room right now: nothing to mute or kick
    except Exception:  # noqa: BLE001 - LiveKit unreachable; the room catches up through its join webhook
        log.warning("LiveKit %s failed for %s", name, kwargs.get("identity"), exc_info=True)
