"""REST endpoints for going live and ending: authorise, call one service, present."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404
from apps.core.rest import request_user
from apps.streams.models import Stream
from apps.streams.serializers import StreamOutputSerializer

from . import services


class StreamGoLiveApi(APIView):
    @extend_schema(request=None, responses=StreamOutputSerializer, summary="scheduled → live")
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        stream = services.show_go_live(stream=stream, by=request_user(request))
        return Response(StreamOutputSerializer(stream).data)


class StreamEndApi(APIView):
    @extend_schema(request=None, responses=StreamOutputSerializer, summary="live → ended")
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        stream = services.show_end(stream=stream, by=request_user(request))
        return Response(StreamOutputSerializer(stream).data)
