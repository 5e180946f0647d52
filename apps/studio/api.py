"""The studio over REST: everything the studio socket does, for integrators and the mobile app.

Each endpoint authorises, parses, calls the same service as the socket, and presents; the events,
the scene republish and the LiveKit calls come from the service.

    GET   streams/<id>/studio/          the studio state (the socket's `state.full` for the host)
    POST  streams/<id>/studio/rtc/      open the room; the host's LiveKit token
    POST/DELETE streams/<id>/playback/  play a library clip or playlist into the show / stop it
    GET/PUT/PATCH streams/<id>/scene/   the scene and its graphs (the same JSON the compositor renders)
    GET/POST streams/<id>/chat/, DELETE streams/<id>/chat/<line>/   the private studio chat
    POST  guests/<id>/stage|backstage|mute|remove|revoke/
    GET/POST join/<token>/, POST join/<token>/rtc/ | mute/ | unmute-request/ | share/,
    GET/POST join/<token>/chat/, DELETE join/<token>/chat/<line>/   a guest's own seat
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import events
from apps.core.ownership import get_owned_or_404
from apps.core.rest import MediaServerUnavailable, errors, request_user
from apps.streams.models import Guest, Stream
from apps.streams.serializers import GuestOutputSerializer
from apps.streams.services import guest_from_token
from media.scene import layout as engine

from . import chat, playback, scene, services
from .state import build_state


class Gone(exceptions.APIException):
    status_code = 410
    default_detail = "This invite link no longer works."
    default_code = "gone"


# A seat's ValidationError codes that mean the link is spent for good (410), not that the request was wrong.
GONE_CODES = {"revoked", "expired", "ended"}


class SceneInputSerializer(serializers.Serializer):
    layout = serializers.ChoiceField(choices=list(engine.LAYOUTS), required=False)
    on_stage = serializers.ListField(
        child=serializers.CharField(max_length=128), max_length=engine.MAX_ON_STAGE + 1, required=False
    )
    overlays = serializers.DictField(child=serializers.BooleanField(), required=False)
    banner_text = serializers.CharField(max_length=scene.MAX_BANNER_TEXT, allow_blank=True, required=False)
    host_on_stage = serializers.BooleanField(required=False)
    host_muted = serializers.BooleanField(required=False)
    screen_share = serializers.CharField(max_length=128, allow_null=True, allow_blank=True, required=False)
    positions = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4), required=False
    )
    featured = serializers.CharField(
        max_length=128,
        allow_null=True,
        allow_blank=True,
        required=False,
        help_text="Identity that solo shows and picture-in-picture makes big; null: the first on stage.",
    )
    pip_corner = serializers.ChoiceField(choices=list(engine.PIP_CORNERS), required=False)
    transition = serializers.JSONField(required=False)


class SceneOutputSerializer(serializers.Serializer):
    stream = serializers.IntegerField()
    scene = serializers.JSONField()
    canvases = serializers.JSONField()
    assets = serializers.JSONField()
    fps = serializers.IntegerField()


class SceneApi(APIView):
    def _stream(self, request: Request, pk: int) -> Stream:
        return get_owned_or_404(Stream.objects.select_related("owner", "brand_kit"), request.user, pk=pk)

    @extend_schema(responses=SceneOutputSerializer, operation_id="streams_scene_read")
    def get(self, request: Request, pk: int) -> Response:
        return Response(scene.scene_state(self._stream(request, pk)))

    @extend_schema(request=SceneInputSerializer, responses=SceneOutputSerializer, operation_id="streams_scene_set")
    def put(self, request: Request, pk: int) -> Response:
        stream = self._stream(request, pk)
        serializer = SceneInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = scene.scene_set(stream=stream, by=request_user(request), **serializer.validated_data)
        return Response(state)

    @extend_schema(request=SceneInputSerializer, responses=SceneOutputSerializer, operation_id="streams_scene_update")
    def patch(self, request: Request, pk: int) -> Response:
        return self.put(request, pk)


# --- the studio itself ---------------------------------------------------------------------------


class StudioParticipantSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The LiveKit identity.")
    guest_id = serializers.IntegerField(allow_null=True, help_text="null for the host.")
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Guest.Role.choices)
    on_stage = serializers.BooleanField()
    audio = serializers.BooleanField()
    video = serializers.BooleanField()
    audio_locked = serializers.BooleanField(help_text="The host muted them: only the host can unmute.")
    video_locked = serializers.BooleanField()
    online = serializers.BooleanField()


class StudioStreamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Stream.Status.choices)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    layout = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class StudioDestinationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    platform = serializers.CharField()
    enabled = serializers.BooleanField()
    status = serializers.CharField()
    health = serializers.DictField()


class StudioStateSerializer(serializers.Serializer):
    """The socket's `state.full` as the host gets it."""

    type = serializers.ChoiceField(choices=[events.STATE_FULL])
    role = serializers.ChoiceField(choices=[events.HOST])
    you = StudioParticipantSerializer()
    stream = StudioStreamSerializer()
    participants = StudioParticipantSerializer(many=True, help_text="The host first, then guests who joined.")
    scene = serializers.DictField(help_text="The stored scene: layout, who is on stage, overlays, banner...")
    scene_graph = serializers.DictField(help_text="The landscape canvas's scene graph, as the compositor renders it.")
    canvases = serializers.DictField(help_text="Scene graphs per canvas (landscape, and vertical when enabled).")
    assets = serializers.DictField(help_text="Where the brand kit's images are.")
    scene_version = serializers.IntegerField(
        help_text="Orders this scene among the socket's `scene.changed` events (same field): keep the newest."
    )
    chat = serializers.ListField(child=serializers.DictField(), help_text="The private chat, oldest first.")
    destinations = StudioDestinationSerializer(many=True)
    playback_progress = serializers.DictField(
        allow_null=True, help_text="The playing clip's last progress report; null when none plays."
    )


class StudioStateApi(APIView):
    @extend_schema(
        responses=StudioStateSerializer,
        operation_id="streams_studio_state",
        summary="The studio as the host's socket sees it (state.full): people, scene, chat, destinations",
    )
    def get(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        return Response(build_state(stream.pk, events.HOST, None))


class RoomAccessSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The LiveKit server's websocket URL.")
    token = serializers.CharField(help_text="A short-lived LiveKit access token for this room only.")
    identity = serializers.CharField()
    room = serializers.CharField()


class StudioRoomApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoomAccessSerializer, **errors(503)},
        operation_id="streams_studio_room",
        summary="Open the stream's LiveKit room and get the host's token",
    )
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=pk)
        try:
            access = services.host_room_open(stream=stream, by=request_user(request))
        except (ValidationError, PermissionDenied):
            raise
        except Exception as exc:
            raise MediaServerUnavailable() from exc
        return Response(RoomAccessSerializer(access).data)


# --- the people in it ------------------------------------------------------------------------------


class _GuestAction(APIView):
    def _guest(self, request: Request, pk: int) -> Guest:
        return get_owned_or_404(Guest.objects.select_related("stream", "stream__owner"), request.user, pk=pk)


class GuestStageApi(_GuestAction):
    @extend_schema(request=None, responses=GuestOutputSerializer, summary="Bring the guest on stage")
    def post(self, request: Request, pk: int) -> Response:
        guest = services.guest_bring_on_stage(guest=self._guest(request, pk), by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)


class GuestBackstageApi(_GuestAction):
    @extend_schema(request=None, responses=GuestOutputSerializer, summary="Send the guest backstage")
    def post(self, request: Request, pk: int) -> Response:
        guest = services.guest_send_backstage(guest=self._guest(request, pk), by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)


class MediaInputSerializer(serializers.Serializer):
    audio = serializers.BooleanField(required=False, help_text="false mutes the microphone, true unmutes it")
    video = serializers.BooleanField(required=False, help_text="false hides the camera, true shows it")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Say what changes: audio, video or both.")
        return attrs


class GuestMuteApi(_GuestAction):
    @extend_schema(
        request=MediaInputSerializer,
        responses=GuestOutputSerializer,
        summary="Mute / unmute a guest's microphone or hide / show their camera (the host's mute is locked)",
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = MediaInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guest = services.guest_set_media(
            guest=self._guest(request, pk), by=request_user(request), **serializer.validated_data
        )
        return Response(GuestOutputSerializer(guest).data)


class GuestRemoveApi(_GuestAction):
    @extend_schema(
        request=None, responses={204: None}, summary="Take the guest out of the show (their link stops working)"
    )
    def post(self, request: Request, pk: int) -> Response:
        services.guest_remove(guest=self._guest(request, pk), by=request_user(request))
        return Response(status=204)


class GuestRevokeApi(_GuestAction):
    @extend_schema(
        request=None, responses=GuestOutputSerializer, summary="Revoke the invite link (and end its sessions)"
    )
    def post(self, request: Request, pk: int) -> Response:
        guest = services.guest_revoke(guest=self._guest(request, pk), by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)


# --- private chat ------------------------------------------------------------------------------


class ChatMessageSerializer(serializers.Serializer):
    id = serializers.CharField()
    author = serializers.CharField()
    author_id = serializers.CharField()
    role = serializers.ChoiceField(choices=Guest.Role.choices)
    text = serializers.CharField()
    at = serializers.DateTimeField()


class ChatInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=chat.MAX_CHAT_TEXT)


class ChatApi(APIView):
    @extend_schema(responses=ChatMessageSerializer(many=True), operation_id="streams_chat_list")
    def get(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        return Response(chat.chat_history(stream.pk))

    @extend_schema(
        request=ChatInputSerializer, responses={201: ChatMessageSerializer}, operation_id="streams_chat_send"
    )
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=pk)
        serializer = ChatInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        text = serializer.validated_data["text"]
        return Response(chat.chat_send(stream_id=stream.pk, author=chat.Author.host(stream), text=text), 201)


class ChatLineApi(APIView):
    @extend_schema(
        request=None, responses={204: None}, operation_id="streams_chat_delete", summary="Delete a chat line"
    )
    def delete(self, request: Request, pk: int, message_id: str) -> Response:
        stream = get_owned_or_404(Stream.objects.select_related("owner"), request.user, pk=pk)
        chat.chat_delete(stream_id=stream.pk, message_id=message_id, by=chat.Author.host(stream))
        return Response(status=204)


# --- a guest's own seat (the invite token is the credential) ---------------------------------------


class JoinStreamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()


class JoinSerializer(serializers.Serializer):
    stream = JoinStreamSerializer()
    guest = GuestOutputSerializer()


class JoinInputSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=services.MAX_DISPLAY_NAME)


def _joined(guest: Guest) -> dict[str, Any]:
    stream = guest.stream
    return {
        "stream": {"id": stream.pk, "title": stream.title, "status": stream.status},
        "guest": GuestOutputSerializer(guest).data,
    }


# What a seat's operations answer before their name is given (`_Seat._seated`).
SEATED = "Give your name first (POST join/<token>/)."


class _Seat(APIView):
    """Anyone holding the invite link; nothing else identifies a guest."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def _guest(self, token: str) -> Guest:
        try:
            return guest_from_token(token)
        except ValidationError as exc:
            code = getattr(exc, "code", None)
            raise (Gone(" ".join(exc.messages)) if code in GONE_CODES else NotFound(" ".join(exc.messages))) from exc

    def handle_exception(self, exc: Exception) -> Response:
        # A service refusing a spent link (revoked, expired, show ended) answers 410 like the token lookup.
        if isinstance(exc, ValidationError) and getattr(exc, "code", None) in GONE_CODES:
            exc = Gone(" ".join(exc.messages))
        return super().handle_exception(exc)

    def _seated(self, token: str) -> Guest:
        """A guest who gave their name: what the studio socket requires too."""
        guest = self._guest(token)
        if guest.joined_at is None:
            raise exceptions.PermissionDenied("Give your name first (POST join/<token>/).")
        return guest


class JoinApi(_Seat):
    @extend_schema(
        responses={200: JoinSerializer, **errors(410)}, operation_id="join_read", summary="What an invite link opens"
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(_joined(self._guest(token)))

    @extend_schema(
        request=JoinInputSerializer,
        responses={200: JoinSerializer, **errors(410)},
        operation_id="join_name",
        summary="Give your name: the host sees you waiting backstage",
    )
    def post(self, request: Request, token: str) -> Response:
        serializer = JoinInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guest = services.guest_join(guest=self._guest(token), display_name=serializer.validated_data["display_name"])
        return Response(_joined(guest))


class JoinRoomApi(_Seat):
    @extend_schema(
        request=None,
        responses={200: RoomAccessSerializer, **errors(410, e403="Give your name first (POST join/<token>/).")},
        operation_id="join_room",
        summary="The guest's LiveKit token",
    )
    def post(self, request: Request, token: str) -> Response:
        self._seated(token)
        _, access = services.guest_room_access(invite_token=token)
        return Response(RoomAccessSerializer(access).data)


class JoinMuteApi(_Seat):
    @extend_schema(
        request=MediaInputSerializer,
        responses={200: JoinSerializer, **errors(410)},
        operation_id="join_mute",
        summary="Mute or unmute yourself",
    )
    def post(self, request: Request, token: str) -> Response:
        serializer = MediaInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guest = services.guest_set_own_media(guest=self._guest(token), **serializer.validated_data)
        return Response(_joined(guest))


class JoinUnmuteRequestApi(_Seat):
    @extend_schema(
        request=None,
        responses={202: None, **errors(410)},
        operation_id="join_unmute_request",
        summary="Ask the host to unmute you",
    )
    def post(self, request: Request, token: str) -> Response:
        services.guest_request_unmute(guest=self._guest(token))
        return Response(status=202)


class JoinChatApi(_Seat):
    @extend_schema(
        responses={200: ChatMessageSerializer(many=True), **errors(410, e403=SEATED)}, operation_id="join_chat_list"
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(chat.chat_history(self._seated(token).stream_id))

    @extend_schema(
        request=ChatInputSerializer,
        responses={201: ChatMessageSerializer, **errors(410, e403=SEATED)},
        operation_id="join_chat_send",
    )
    def post(self, request: Request, token: str) -> Response:
        guest = self._seated(token)
        serializer = ChatInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        text = serializer.validated_data["text"]
        return Response(chat.chat_send(stream_id=guest.stream_id, author=chat.Author.guest(guest), text=text), 201)


class JoinChatLineApi(_Seat):
    @extend_schema(
        request=None,
        responses={204: None, **errors(410, e403=SEATED + " Only moderators may delete chat lines.")},
        operation_id="join_chat_delete",
        summary="Delete a chat line (moderators)",
    )
    def delete(self, request: Request, token: str, message_id: str) -> Response:
        guest = self._seated(token)
        chat.chat_delete(stream_id=guest.stream_id, message_id=message_id, by=chat.Author.guest(guest))
        return Response(status=204)


class ShareInputSerializer(serializers.Serializer):
    on = serializers.BooleanField(help_text="true starts showing your screen share on the program, false stops it")


class JoinShareApi(_Seat):
    @extend_schema(
        request=ShareInputSerializer,
        responses={200: SceneOutputSerializer, **errors(410, e403=SEATED)},
        operation_id="join_share",
        summary="Show or stop showing your screen share (on stage only)",
    )
    def post(self, request: Request, token: str) -> Response:
        guest = self._seated(token)
        serializer = ShareInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state = services.share_set(stream=guest.stream, identity=guest.identity, on=serializer.validated_data["on"])
        return Response(state)


# --- playback: a library clip or playlist into the show ---------------------------------------------


class PlaybackInputSerializer(serializers.Serializer):
    clip = serializers.IntegerField(required=False, allow_null=True)
    playlist = serializers.IntegerField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=list(playback.MODES), default="fullscreen")
    transition = serializers.ChoiceField(choices=list(scene.TRANSITIONS), default="cut")
    transition_ms = serializers.IntegerField(min_value=0, max_value=scene.MAX_TRANSITION_MS, required=False)


class PlaybackApi(APIView):
    def _stream(self, request: Request, pk: int) -> Stream:
        return get_owned_or_404(Stream.objects.select_related("owner", "brand_kit"), request.user, pk=pk)

    @extend_schema(
        request=PlaybackInputSerializer, responses={201: SceneOutputSerializer}, operation_id="streams_playback_start"
    )
    def post(self, request: Request, pk: int) -> Response:
        stream = self._stream(request, pk)
        serializer = PlaybackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = request_user(request)
        transition: dict[str, Any] = {"kind": data["transition"]}
        if "transition_ms" in data:
            transition["duration_ms"] = data["transition_ms"]
        state = playback.playback_start_from_library(
            stream=stream,
            by=user,
            clip_id=data.get("clip"),
            playlist_id=data.get("playlist"),
            mode=data["mode"],
            transition=transition,
        )
        return Response(state, status=201)

    @extend_schema(request=None, responses={200: SceneOutputSerializer}, operation_id="streams_playback_stop")
    def delete(self, request: Request, pk: int) -> Response:
        return Response(playback.playback_stop(stream=self._stream(request, pk), by=request_user(request)))
