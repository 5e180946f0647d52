"""/api/v1/streams/<id>/scene/: read the current scene graph, set the scene.

GET answers the stored scene and one scene graph per canvas (landscape, and
vertical when the stream asks for a 9:16 program): the same JSON the studio
preview draws and the compositor renders. PUT / PATCH change it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import request_user
from apps.core.ownership import get_owned_or_404

from . import layout as engine
from . import scene
from .models import Stream


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
