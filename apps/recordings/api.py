"""REST endpoints for recordings: list, read, rename, delete, download."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404, owned
from apps.core.rest import paginated, paginated_response, pagination_parameters, request_user
from apps.library.files import serve_user_file, serves_file

from . import services
from .models import Recording
from .serializers import RecordingOutputSerializer, RecordingRenameInputSerializer


class RecordingListApi(APIView):
    @extend_schema(
        parameters=[
            *pagination_parameters(),
            OpenApiParameter("stream", int, description="Only this stream's recordings"),
        ],
        responses=paginated(RecordingOutputSerializer),
        operation_id="recordings_list",
    )
    def get(self, request: Request) -> Response:
        recordings = owned(Recording.objects.all(), request.user)
        stream_id = request.query_params.get("stream", "")
        if stream_id:
            recordings = recordings.filter(stream_id=int(stream_id)) if stream_id.isdigit() else recordings.none()
        return paginated_response(
            queryset=recordings, serializer_class=RecordingOutputSerializer, request=request, view=self
        )


class RecordingDetailApi(APIView):
    @extend_schema(responses=RecordingOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        recording = get_owned_or_404(Recording.objects.all(), request.user, pk=pk)
        return Response(RecordingOutputSerializer(recording).data)

    @extend_schema(request=RecordingRenameInputSerializer, responses=RecordingOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
        serializer = RecordingRenameInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recording = services.recording_rename(
            recording=recording, by=request_user(request), title=serializer.validated_data["title"]
        )
        return Response(RecordingOutputSerializer(recording).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
        services.recording_delete(recording=recording, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordingFileApi(APIView):
    @serves_file("video/mp4", "video/webm", summary="Download the file")
    def get(self, request: Request, pk: int) -> HttpResponse:
        recording = get_owned_or_404(Recording.objects.select_related("stream"), request.user, pk=pk)
        name = recording.file.name.rsplit("/", 1)[-1]
        return serve_user_file(request, recording.file, filename=name, inline=False)
