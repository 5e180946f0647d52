"""/api/v1/streams/<id>/playback/: play a library clip or playlist into the show (POST), stop it (DELETE).

Both answer the new scene state (apps/streams/scene_api.py's shape), whose scene graphs carry the "clip"
layer while something plays; `playback` is the last progress report of the compositor, if any.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import request_user
from apps.core.ownership import get_owned_or_404
from apps.library.models import MediaClip, Playlist

from . import playback, scene
from .models import Stream
from .scene_api import SceneOutputSerializer


class PlaybackInputSerializer(serializers.Serializer):
    clip = serializers.IntegerField(required=False, allow_null=True)
    playlist = serializers.IntegerField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=list(playback.MODES), default="fullscreen")
    transition = serializers.ChoiceField(choices=list(scene.TRANSITIONS), default="cut")
    transition_ms = serializers.IntegerField(min_value=0, max_value=scene.MAX_TRANSITION_MS, required=False)


def _owned(model: Any, user: Any, pk: int | None, field: str) -> Any:
    """The owner's clip / playlist, or a 400 naming the field (another user's id reads as unknown)."""
    if pk is None:
        return None
    found = model.objects.owned_by(user).filter(pk=pk).first() if user.is_authenticated else None
    if found is None:
        raise ValidationError({field: "Not found in your library."})
    return found


class PlaybackApi(APIView):
    def _stream(self, request: Request, pk: int) -> Stream:
        return get_owned_or_404(Stream.objects.select_related("owner", "brand_kit"), request.user, pk=pk)

    @extend_schema(
        request=PlaybackInputSerializer, responses=SceneOutputSerializer, operation_id="streams_playback_start"
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
        state = playback.playback_start(
            stream=stream,
            by=user,
            clip=_owned(MediaClip, user, data.get("clip"), "clip"),
            playlist=_owned(Playlist, user, data.get("playlist"), "playlist"),
            mode=data["mode"],
            transition=transition,
        )
        return Response(state, status=201)

    @extend_schema(request=None, responses=SceneOutputSerializer, operation_id="streams_playback_stop")
    def delete(self, request: Request, pk: int) -> Response:
        return Response(playback.playback_stop(stream=self._stream(request, pk), by=request_user(request)))
