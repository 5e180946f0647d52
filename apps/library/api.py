"""REST endpoints: resumable uploads (tus-like), library clips, brand asset uploads.

Upload protocol:

    POST   /api/v1/uploads/            {"purpose": "clip", "size": 123, "filename": "a.mp4"} → 201 {id, offset, chunk_size}
    HEAD   /api/v1/uploads/<id>/       → Upload-Offset / Upload-Length headers (resume point)
    GET    /api/v1/uploads/<id>/       → the same as JSON
    PATCH  /api/v1/uploads/<id>/       body = chunk bytes, Upload-Offset: n [, Upload-Length: total]
                                       → 200 {offset, …}; 409 + Upload-Offset when the offset is wrong;
                                         415 when the content is not video; 413 when storage is full
    DELETE /api/v1/uploads/<id>/       → 204, the upload is dropped
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.branding import services as branding_services
from apps.branding.models import BrandAsset, BrandKit
from apps.branding.serializers import BrandAssetOutputSerializer
from apps.core import ratelimit
from apps.core.ownership import get_owned_or_404, owned
from apps.core.rest import errors, paginated, paginated_response, pagination_parameters, request_user
from apps.core.serializers import OwnedPrimaryKeyRelatedField
from apps.streams.models import Stream

from . import services
from .files import serve_user_file, serves_file
from .models import MediaClip, UploadSession
from .quota import storage_usage
from .upload_protocol import (
    CHUNK_CONTENT_TYPE,
    UploadOutputSerializer,
    _errors,
    _is_quota,
    _with_offset,
    receive_chunk,
)

# The resume point travels in headers (tus): on the chunk sent, and on every answer about the upload.
_UPLOAD_ANSWERS = [200, 400, 409, 410, 413, 415]
UPLOAD_OFFSET_SENT = OpenApiParameter(
    "Upload-Offset",
    {"type": "integer", "minimum": 0},
    location=OpenApiParameter.HEADER,
    required=True,
    description="Where this chunk starts: the upload's current offset.",
)
UPLOAD_LENGTH_SENT = OpenApiParameter(
    "Upload-Length",
    {"type": "integer", "minimum": 1},
    location=OpenApiParameter.HEADER,
    description="The whole file's size, when it was not known at creation.",
)


def upload_headers(codes: list[int]) -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            "Upload-Offset",
            {"type": "integer", "minimum": 0},
            location=OpenApiParameter.HEADER,
            required=True,
            response=codes,
            description="Bytes received so far: where the next chunk starts.",
        ),
        OpenApiParameter(
            "Upload-Length",
            {"type": "integer", "minimum": 1},
            location=OpenApiParameter.HEADER,
            response=codes,
            description="The whole file's size, once known.",
        ),
    ]


class UploadCreateInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=UploadSession.Purpose.choices, default=UploadSession.Purpose.CLIP)
    size = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    filename = serializers.CharField(max_length=255, required=False, allow_blank=True)
    title = serializers.CharField(max_length=140, required=False, allow_blank=True)
    stream = OwnedPrimaryKeyRelatedField(
        queryset=Stream.objects.all(), required=False, allow_null=True, help_text="A recording of this stream."
    )


class UploadListApi(APIView):
    @extend_schema(
        request=UploadCreateInputSerializer,
        responses={
            201: UploadOutputSerializer,
            **errors(fields=True, e413="The file would not fit in your storage."),
        },
        parameters=[
            *upload_headers([201]),
            OpenApiParameter(
                "Location",
                str,
                location=OpenApiParameter.HEADER,
                response=[201],
                required=True,
                description="The upload's URL, where its chunks go.",
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        if not ratelimit.hit(f"uploads:{user.pk}", limit=services.UPLOADS_PER_HOUR, window=3600):
            raise exceptions.Throttled(wait=ratelimit.retry_after(3600), detail="Too many uploads started.")
        serializer = UploadCreateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        stream = data.get("stream")
        try:
            session = services.upload_create(
                owner=user,
                purpose=data["purpose"],
                size=data.get("size"),
                title=data.get("title", ""),
                filename=data.get("filename", ""),
                stream=stream,
            )
        except ValidationError as exc:
            code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if _is_quota(exc) else status.HTTP_400_BAD_REQUEST
            return Response(_errors(exc), status=code)
        url = reverse("api-upload-detail", args=[session.id])
        response = Response({**UploadOutputSerializer(session).data, "url": url}, status=status.HTTP_201_CREATED)
        response["Location"] = url
        return _with_offset(response, session)  # type: ignore[return-value]


class UploadDetailApi(APIView):
    def _session(self, request: Request, pk: str) -> UploadSession:
        return get_owned_or_404(UploadSession.objects.all(), request.user, pk=pk)

    @extend_schema(responses=UploadOutputSerializer, parameters=upload_headers([200]))
    def get(self, request: Request, pk: str) -> Response:
        session = self._session(request, pk)
        return _with_offset(Response(UploadOutputSerializer(session).data), session)  # type: ignore[return-value]

    @extend_schema(
        responses={200: OpenApiResponse(description="The resume point, in headers only.")},
        parameters=upload_headers([200]),
        operation_id="uploads_offset",
        summary="Where to resume: the Upload-Offset header",
    )
    def head(self, request: Request, pk: str) -> HttpResponse:
        return _with_offset(HttpResponse(status=200), self._session(request, pk))

    @extend_schema(
        request={CHUNK_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={
            200: UploadOutputSerializer,
            **errors(
                fields=True,
                e400="The Upload-Offset or Upload-Length header is missing or malformed, or the upload was refused.",
                e409="The chunk does not start at the upload's offset: resume from the Upload-Offset answered.",
                e410="The upload is finished or was dropped.",
                e413="The chunk is larger than chunk_size, or the file would not fit in your storage.",
                e415=f"The body is not {CHUNK_CONTENT_TYPE}, or the file is not a video.",
            ),
        },
        parameters=[UPLOAD_OFFSET_SENT, UPLOAD_LENGTH_SENT, *upload_headers(_UPLOAD_ANSWERS)],
        summary="Send the next chunk",
    )
    def patch(self, request: Request, pk: str) -> Response:
        session = self._session(request, pk)
        code, body, session = receive_chunk(request._request, session, by=request_user(request))
        return _with_offset(Response(body, status=code), session)  # type: ignore[return-value]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        services.upload_abort(session=self._session(request, pk), by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClipOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaClip
        fields = [
            "id",
            "title",
            "status",
            "progress",
            "error",
            "size_bytes",
            "duration_seconds",
            "width",
            "height",
            "fps",
            "has_audio",
            "created_at",
        ]
        read_only_fields = fields


class ClipListApi(APIView):
    @extend_schema(
        parameters=pagination_parameters(), responses=paginated(ClipOutputSerializer), operation_id="clips_list"
    )
    def get(self, request: Request) -> Response:
        clips = owned(MediaClip.objects.all(), request.user)
        return paginated_response(queryset=clips, serializer_class=ClipOutputSerializer, request=request, view=self)


class ClipDetailApi(APIView):
    @extend_schema(responses=ClipOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(ClipOutputSerializer(get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
        services.clip_delete(clip=clip, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClipFileApi(APIView):
    @serves_file("video/mp4", summary="The clip's mezzanine")
    def get(self, request: Request, pk: int) -> HttpResponse:
        clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
        return serve_user_file(request, clip.mezzanine, filename=f"{clip.title}.mp4")


class StorageUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField(help_text="Bytes used by clips, recordings and brand images.")
    limit = serializers.IntegerField(help_text="Bytes the plan allows.")
    percent = serializers.IntegerField(min_value=0, max_value=100)
    used_label = serializers.CharField(help_text="`used` for people: 1.2 GB.")
    limit_label = serializers.CharField()
    tier = serializers.CharField(help_text="The plan's name.")


class StorageUsageApi(APIView):
    @extend_schema(responses=StorageUsageSerializer, operation_id="storage_usage")
    def get(self, request: Request) -> Response:
        return Response(storage_usage(request.user))


class BrandAssetUploadInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BrandAsset.Kind.choices)
    file = serializers.FileField(max_length=255)


class BrandAssetUploadApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=BrandAssetUploadInputSerializer,
        responses={
            201: BrandAssetOutputSerializer,
            **errors(fields=True, e413="The image is too large, or would not fit in your storage."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
        user = request_user(request)
        if not ratelimit.hit(f"uploads:{user.pk}", limit=services.UPLOADS_PER_HOUR, window=3600):
            raise exceptions.Throttled(wait=ratelimit.retry_after(3600), detail="Too many uploads.")
        serializer = BrandAssetUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            asset = branding_services.brand_asset_upload(
                kit=kit,
                by=user,
                kind=serializer.validated_data["kind"],
                upload=upload,
                filename=upload.name or "",
                size=upload.size,
            )
        except ValidationError as exc:
            code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if _is_quota(exc) else status.HTTP_400_BAD_REQUEST
            return Response(_errors(exc), status=code)
        return Response(BrandAssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)
