"""A studio in session, for tests of what an action does (tests/matrix): everything it can be seen by.

`studio_for(setup)` builds, with committed rows and real servers:

* the host (a creator with a login) and their stream, live or scheduled;
* one invited, joined person (`target`): a guest or a moderator, on stage or backstage;
* the host's studio socket and the target's studio socket (the real ASGI app, tests/support/sockets.py),
  and, for moderation, both of their comment sockets;
* what the compositor follows: the scene key in Redis and its PUBLISHed versions (`CompositorFeed`);
* when asked, the stream's LiveKit room on the session's livekit-server with the target in it, publishing
  a camera and a microphone (a synthetic participant);
* when asked, a comment, a ready library clip, a running show pushing to a local nginx-rtmp.

Each entry point then acts as a user of it would: the studio socket sends the message the studio page
sends, the REST API is called with the host's (or the invite's) credentials, the dashboard and the admin
are posted to as a logged-in browser would, beat's task is run through Celery.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core import realtime
from apps.core.realtime import show_wake_key
from apps.destinations.models import StreamDestination
from apps.engagement import realtime as engagement_realtime
from apps.engagement import services as engagement
from apps.engagement.models import Comment, EngagementSettings
from apps.rtc import services as rtc
from apps.streams import services as stream_services
from apps.streams.models import Guest, Stream
from apps.studio import chat, scene
from apps.studio import services as studio_services
from tests.factories import DestinationFactory, StreamFactory, UserFactory
from tests.support.livekit import SyntheticParticipant
from tests.support.rtmp import RtmpServer, wait_for
from tests.support.shows import MediaWorker
from tests.support.sockets import Socket, SocketLoop, session_cookie

RED = (220, 30, 30)
# The bounds: out of the LiveKit room within 2 s; everything else an event away.
ROOM_SECONDS = 2.0
EVENT_SECONDS = 5.0
# A removed participant's own client: the server's removal is checked against ROOM_SECONDS; the client (LiveKit's
# Rust SDK here) now and then takes the server's close for a network drop and tries to resume, which LiveKit
# refuses, several times before it reports the disconnection (CI saw it still trying after 5 s).
CLIENT_GIVES_UP_SECONDS = 30.0


@dataclass(frozen=True)
class Setup:
    """The state a studio is in before the action."""

    live: bool = True
    seat: str = Guest.Role.GUEST  # the target's role: guest or moderator
    on_stage: bool = False
    room: bool = False  # the LiveKit room, with the target in it publishing camera and microphone
    host_muted: bool = False  # the host muted the target's microphone before the action
    comment: str | None = None  # a viewer's comment: "pending", "approved" or "on_screen"
    clip: bool = False  # a ready clip in the host's library
    playing: bool = False  # ...already playing into the show
    sharing: bool = False  # the host's screen share is up
    show: bool = False  # a running show (the generated test scene) pushing to a local RTMP server
    destination: str | None = None  # a destination of the stream: "enabled" or "disabled"
    chat_line: bool = False  # the host said something in the private chat
    brand: str | None = None  # a brand kit with a logo: "worn" by the stream, or only "available"


@dataclass(frozen=True)
class Answer:
    """What the entry point told the person who acted: done, or refused and why."""

    ok: bool
    message: str = ""


class CompositorFeed:
    """What a live show's compositor follows: the scene in Redis (key + PUBLISH of each version)."""

    def __init__(self, stream_id: int) -> None:
        self.key = scene.redis_key(stream_id)
        self.client = redis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.versions: list[str] = []
        self.cond = threading.Condition()
        self.pubsub.subscribe(**{self.key: self._on_message})
        self.thread = self.pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def _on_message(self, message: dict[str, Any]) -> None:
        with self.cond:
            self.versions.append(message["data"].decode())
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.versions)

    def state(self) -> dict[str, Any] | None:
        raw = self.client.get(self.key)
        return json.loads(raw) if raw else None

    def wait(self, check: Callable[[dict[str, Any]], bool], *, after: int, what: str, timeout: float = EVENT_SECONDS):
        """A version published after `after`, and the stored scene passes `check`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if len(self.versions) > after:
                    state = self.state()
                    if state is not None and check(state):
                        return state
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the compositor's scene: {what} not published within {timeout}s "
                        f"({len(self.versions) - after} version(s) since the action)"
                    )
                self.cond.wait(min(left, 0.2))

    def close(self) -> None:
        self.thread.stop()
        with contextlib.suppress(Exception):
            self.thread.join(5)
        self.pubsub.close()
        self.client.close()


def layers(state: dict[str, Any], kind: str, canvas: str = "landscape") -> list[dict[str, Any]]:
    return [layer for layer in state["canvases"][canvas]["layers"] if layer["kind"] == kind]


def on_air(state: dict[str, Any]) -> set[str]:
    """Whose camera is on the landscape program."""
    return {layer["source"] for layer in layers(state, "video")}


def heard(state: dict[str, Any]) -> set[str]:
    return set(state["canvases"]["landscape"]["audio"])


class _Form(HTMLParser):
    """The fields of the first <form> with a submit button, as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self.select: str | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            elif kind not in {"submit", "button", "file"}:
                self.data[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self.data[name] = ""
        elif tag == "select" and name:
            self.select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self.select and "selected" in a:
            self.data[self.select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None


def form_fields(html: str) -> dict[str, Any]:
    parser = _Form()
    parser.feed(html)
    return parser.data


@dataclass
class Studio:
    setup: Setup
    host: Any
    stream: Stream
    target: Guest
    token: str
    sockets: SocketLoop
    host_socket: Socket
    guest_socket: Socket
    feed: CompositorFeed
    api: APIClient
    web: Client
    admin: Client
    guest_api: APIClient
    host_comments: Socket | None = None
    guest_comments: Socket | None = None
    participant: SyntheticParticipant | None = None
    comment: Comment | None = None
    clip: Any = None
    rtmp: RtmpServer | None = None
    worker: MediaWorker | None = None
    destination: StreamDestination | None = None
    chat_line: str = ""
    kit: Any = None
    logo: Any = None
    marks: dict[str, int] = field(default_factory=dict)
    extra_sockets: list[Socket] = field(default_factory=list)

    # --- before / after an action ------------------------------------------------------------

    def mark(self) -> None:
        """Remember where every observer is: effects are looked for after this point only."""
        self.marks = {
            "host": self.host_socket.mark(),
            "guest": self.guest_socket.mark(),
            "feed": self.feed.mark(),
            "host_comments": self.host_comments.mark() if self.host_comments else 0,
            "guest_comments": self.guest_comments.mark() if self.guest_comments else 0,
        }
        self.acted_at = time.monotonic()

    def both(self, kind: str, where: Callable[[dict], bool] | None = None, timeout: float = EVENT_SECONDS):
        """The host's and the target's studio sockets both receive `kind`."""
        return (
            self.host_socket.wait(kind, where, after=self.marks["host"], timeout=timeout),
            self.guest_socket.wait(kind, where, after=self.marks["guest"], timeout=timeout),
        )

    def moderators(self, kind: str, where: Callable[[dict], bool] | None = None) -> tuple[dict, dict]:
        """The host's and the moderator's comment sockets both receive `kind`."""
        assert self.host_comments is not None and self.guest_comments is not None
        return (
            self.host_comments.wait(kind, where, after=self.marks["host_comments"]),
            self.guest_comments.wait(kind, where, after=self.marks["guest_comments"]),
        )

    def compositor(self, check: Callable[[dict], bool], what: str) -> dict:
        return self.feed.wait(check, after=self.marks["feed"], what=what)

    def barrier(self) -> None:
        """Everything the action published has reached both studio sockets (events leave in order)."""
        token = uuid.uuid4().hex
        realtime.publish(realtime.stream_group(self.stream.pk), "chat.deleted", message={"id": token})
        self.both("chat.deleted", lambda m: m["message"]["id"] == token)

    def refresh(self) -> Guest:
        self.target.refresh_from_db()
        return self.target

    @property
    def me(self) -> Callable[[dict], bool]:
        """Events about the target."""
        return lambda m: (m.get("participant") or {}).get("guest_id") == self.target.pk

    # --- the LiveKit room --------------------------------------------------------------------------

    def room(self) -> dict[str, dict[str, bool]]:
        """identity → {"audio": muted?, "video": muted?} of everyone in the room, from the SFU itself."""
        people = {}
        for participant in rtc.rtc_participants(stream=self.stream):
            muted = {}
            for track in participant.tracks:
                kind = "audio" if track.type == rtc.api.TrackType.AUDIO else "video"
                muted[kind] = bool(track.muted)
            people[participant.identity] = muted
        return people

    def room_until(self, check: Callable[[dict[str, dict[str, bool]]], bool], what: str, timeout: float) -> None:
        last: dict[str, Any] = {}

        def look() -> bool:
            nonlocal last
            last = self.room()
            return check(last)

        try:
            wait_for(look, timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(f"LiveKit room: {what} not within {timeout}s; the room says {last}") from None

    # --- entry points --------------------------------------------------------------------------

    def send(self, who: str, message: dict[str, Any]) -> Answer:
        """A studio socket message, as the studio page sends it; the answer is its error, if any."""
        socket = self.host_socket if who == "host" else self.guest_socket
        ref, done = uuid.uuid4().hex, uuid.uuid4().hex
        start = socket.mark()
        socket.send({**message, "ref": ref})
        # The consumer handles one message at a time: the pong comes after the action has finished.
        socket.send({"type": "ping", "ref": done})
        socket.wait("pong", lambda m: m.get("ref") == done, after=start)
        errors = socket.received("error", lambda m: m.get("ref") == ref, after=start)
        return Answer(False, errors[0]["message"]) if errors else Answer(True)

    @staticmethod
    def http(response: Any) -> Answer:
        if response.status_code < 400:
            return Answer(True)
        return Answer(False, response.content.decode(errors="replace"))

    def dashboard(self, name: str, args: list[Any], data: dict[str, Any] | None = None) -> Answer:
        """A dashboard form posted by the host's browser through HTMX."""
        response = self.web.post(reverse(name, args=args), data or {}, HTTP_HX_REQUEST="true")
        answer = self.http(response)
        if answer.ok and response.status_code == 200 and b'class="errorlist' in response.content:
            return Answer(False, response.content.decode())
        return answer

    def admin_action(self, model: str, action: str, pks: list[int]) -> Answer:
        """An admin changelist action on the selected rows, as an admin's browser posts it."""
        response = self.admin.post(
            reverse(f"admin:{model.replace('.', '_')}_changelist"), {"action": action, "_selected_action": pks}
        )
        notes = [(m.level_tag, str(m.message)) for m in get_messages(response.wsgi_request)]
        if response.status_code != 302 or any(level in {"warning", "error"} for level, _ in notes):
            return Answer(False, f"{response.status_code} {notes}")
        return Answer(True)

    def admin_form(self, url: str, changes: dict[str, Any]) -> Answer:
        """An admin add / change form: loaded, filled in, submitted."""
        answer = self.page_form(url, {**changes, "_save": "Save"}, self.admin)
        if answer.ok:
            notes = [str(m.message) for m in get_messages(self.last_response.wsgi_request)]
            if any("Not saved" in note for note in notes):
                return Answer(False, str(notes))
        return answer

    def page_form(self, url: str, changes: dict[str, Any], client: Client) -> Answer:
        """A page's form as a browser submits it: loaded, changed, posted; saved means redirected."""
        page = client.get(url)
        assert page.status_code == 200, page.status_code
        data = {**form_fields(page.content.decode()), **changes}
        self.last_response = response = client.post(url, {k: v for k, v in data.items() if v is not None})
        if response.status_code != 302:
            return Answer(False, response.content.decode(errors="replace")[-3000:])
        return Answer(True)


@pytest.fixture
def studio_for(
    studio_sockets: SocketLoop,
    livekit_server,
    synthetic_participants,
    settings,
    tmp_path,
) -> Iterator[Callable[[Setup], Studio]]:
    settings.LIVEKIT_URL = livekit_server.url
    settings.LIVEKIT_API_KEY = livekit_server.api_key
    settings.LIVEKIT_API_SECRET = livekit_server.api_secret
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a go-live queues the show for a media worker, as in production
    settings.BROADCAST_SPOOL_DIR = tmp_path / "spool"
    settings.BROADCAST_X264_PRESET = "ultrafast"
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    r = redis.Redis.from_url(settings.REDIS_URL)
    built: list[Studio] = []

    def build(setup: Setup) -> Studio:
        # The production default (the LiveKit compositor), except for a running show here, which is about
        # its destinations: the generated test scene is its program (the compositor has its own tests).
        settings.BROADCAST_SOURCE = "test_scene" if setup.show else "compositor"
        host = UserFactory()
        stream = StreamFactory(
            owner=host,
            resolution="480p",
            fps=24,
            video_bitrate_kbps=300,
            audio_bitrate_kbps=64,
            recording_enabled=False,
            status=Stream.Status.LIVE if setup.live else Stream.Status.SCHEDULED,
            started_at=timezone.now() if setup.live else None,
        )
        # Ids repeat across runs (fresh database, same Redis): nothing left from an earlier one.
        stale = [show_wake_key(stream.pk), engagement_realtime.card_queue_key(stream.pk), chat.chat_key(stream.pk)]
        r.delete("media", engagement_realtime.comment_card_key(stream.pk), scene.redis_key(stream.pk), *stale)
        guest, token = stream_services.guest_invite(stream=stream, by=host, role=setup.seat, ttl=timedelta(hours=1))
        guest = studio_services.guest_join(guest=guest, display_name="Rita Red")
        if setup.on_stage:
            Guest.objects.filter(pk=guest.pk).update(on_stage=True)
        if setup.sharing:
            stream.scene = {
                "layout": "screen_share",
                "screen_share": stream.host_identity,
                "layout_before_share": "grid",
            }
            stream.save(update_fields=["scene"])
        api = APIClient()
        api.force_authenticate(host)
        web = Client()
        web.force_login(host)
        admin = Client()
        admin.force_login(UserFactory(is_staff=True, is_superuser=True))
        host_cookie = session_cookie(user=host)
        guest_cookie = session_cookie(guests={stream.pk: guest.pk})
        studio = Studio(
            setup=setup,
            host=host,
            stream=stream,
            target=guest,
            token=token,
            sockets=studio_sockets,
            host_socket=studio_sockets.studio(stream.pk, host_cookie),
            guest_socket=studio_sockets.studio(stream.pk, guest_cookie),
            feed=CompositorFeed(stream.pk),
            api=api,
            web=web,
            admin=admin,
            guest_api=APIClient(),
        )
        built.append(studio)
        if setup.seat == Guest.Role.MODERATOR:
            studio.host_comments = studio_sockets.comments(stream.pk, host_cookie)
            studio.guest_comments = studio_sockets.comments(stream.pk, guest_cookie)
        if setup.room:
            rtc.rtc_open_room(stream=stream, by=host)
            _, lk_token = rtc.rtc_guest_token(invite_token=token)
            studio.participant = synthetic_participants(livekit_server.url, lk_token, width=160, height=96, fps=10)
            studio.participant.connect().publish(colour=RED, tone_hz=440.0)
            studio.room_until(
                lambda room: set(room.get(guest.identity, {})) == {"audio", "video"},
                "the guest's camera and microphone published",
                timeout=20,
            )
        if setup.host_muted:
            studio_services.guest_set_media(guest=guest, by=host, audio=False)
            if setup.room:
                studio.room_until(lambda room: room[guest.identity]["audio"], "the host's mute applied", 10)
        if setup.comment:
            EngagementSettings.objects.update_or_create(stream=stream, defaults={"card_auto_hide_seconds": 0})
            comment = engagement.comment_ingest(
                stream=stream,
                platform="custom",
                message_id=uuid.uuid4().hex,
                author_name="Viewer",
                author_id="viewer-1",
                text="Great show!",
            )
            assert comment is not None
            status = Comment.Status.PENDING if setup.comment == "pending" else Comment.Status.APPROVED
            Comment.objects.filter(pk=comment.pk).update(status=status)
            if setup.comment == "on_screen":
                engagement.comment_show_on_screen(comment=comment)
            comment.refresh_from_db()
            studio.comment = comment
        if setup.clip or setup.playing:
            studio.clip = ready_clip(host)
            if setup.playing:
                from apps.studio import playback

                playback.playback_start(stream=stream, by=host, clip=studio.clip)
        if setup.show:
            studio.rtmp = RtmpServer(tmp_path / f"rtmp-{stream.pk}")
            studio.rtmp.start()
            studio.worker = MediaWorker(stream.pk).begin()
        if setup.destination:
            assert studio.rtmp is not None
            studio.destination = DestinationFactory(
                stream=stream,
                name="Ingest",
                rtmp_url=studio.rtmp.url,
                stream_key="first",
                enabled=setup.destination == "enabled",
            )
            if setup.destination == "enabled" and studio.worker is not None:
                studio.rtmp.wait_for_publish("first", timeout=15)
        if setup.brand:
            studio.kit, studio.logo = brand_kit_with_logo(host)
            if setup.brand == "worn":
                Stream.objects.filter(pk=stream.pk).update(brand_kit=studio.kit)
        if setup.chat_line:
            author = chat.Author.host(stream)
            studio.chat_line = chat.chat_send(stream_id=stream.pk, author=author, text="Wrong room")["id"]
        # Wait for the setup's own events to have arrived before the action's mark.
        studio.marks = {"host": 0, "guest": 0}
        studio.barrier()
        return studio

    yield build
    for studio in built:
        if studio.worker is not None and studio.worker.is_alive():
            with contextlib.suppress(Exception):
                studio.worker.finish()
        if studio.rtmp is not None:
            studio.rtmp.kill()
        studio.feed.close()
        with contextlib.suppress(Exception):
            rtc.rtc_close_room(stream=studio.stream, by=None)
    r.delete("media")
    r.close()


def ready_clip(owner: Any) -> Any:
    """A clip in the owner's library, ready to play (its file is not decoded here: the scene is the effect)."""
    from django.core.files.base import ContentFile

    from apps.library.models import MediaClip

    clip = MediaClip(
        owner=owner,
        uid=uuid.uuid4().hex,
        title="Intro",
        status=MediaClip.Status.READY,
        duration_seconds=30,
        width=1280,
        height=720,
    )
    clip.mezzanine.save("intro.mp4", ContentFile(b"\x00" * 64), save=False)
    clip.save()
    return clip


def brand_kit_with_logo(owner: Any) -> tuple[Any, Any]:
    """A brand kit with a small PNG logo, as an upload through the kit page leaves it."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    from apps.branding.models import BrandAsset, BrandKit

    kit = BrandKit.objects.create(owner=owner, name="House style", primary_colour="#112233", accent_colour="#FFFFFF")
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 32), (255, 200, 0, 255)).save(buffer, format="PNG")
    logo = BrandAsset(
        kit=kit, kind="logo", uid=uuid.uuid4().hex, content_type="image/png", width=64, height=32, x=0.02, y=0.02
    )
    logo.file.save("logo.png", ContentFile(buffer.getvalue()), save=False)
    logo.save()
    return kit, logo
