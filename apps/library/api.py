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

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.branding import services as branding_services
from apps.branding.models import BrandAsset, BrandKit
from apps.branding.serializers import BrandAssetOutputSerializer
from apps.core import ratelimit
from apps.core.api import paginated_response, request_user
from apps.core.ownership import get_owned_or_404, owned
from apps.streams.models import Stream

from . import services
from .files import serve_user_file
from .models import MediaClip, UploadSession
from .quota import storage_usage


def _errors(exc: ValidationError) -> dict[str, Any]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}


class UploadCreateInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=UploadSession.Purpose.choices, default=UploadSession.Purpose.CLIP)
    size = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    filename = serializers.CharField(max_length=255, required=False, allow_blank=True)
    title = serializers.CharField(max_length=140, required=False, allow_blank=True)
    stream = serializers.IntegerField(required=False, allow_null=True)


class UploadOutputSerializer(serializers.ModelSerializer):
    offset = serializers.IntegerField(source="received_bytes")
    size = serializers.IntegerField(source="total_bytes", allow_null=True)
    chunk_size = serializers.IntegerField(source="chunk_bytes")

    class Meta:
        model = UploadSession
        fields = ["id", "purpose", "status", "offset", "size", "chunk_size", "clip", "recording", "stream"]
        read_only_fields = fields


def _with_offset(response: HttpResponse, session: UploadSession) -> HttpResponse:
    response["Upload-Offset"] = str(session.received_bytes)
    if session.total_bytes is not None:
        response["Upload-Length"] = str(session.total_bytes)
    response["Cache-Control"] = "no-store"
    return response


def receive_chunk(
    request: HttpRequest, session: UploadSession, *, by: Any
) -> tuple[int, dict[str, Any], UploadSession]:
    """One PATCH of the upload protocol, for the API and the guest views alike: (status, body, session)."""
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
        length_header = request.headers.get("Upload-Length")
        declared = int(length_header) if length_header else None
    except ValueError:
        return 400, {"offset": ["Send the chunk's offset in the Upload-Offset header."]}, session
    limit = session.chunk_bytes
    # Read from the socket ourselves: DATA_UPLOAD_MAX_MEMORY_SIZE guards request.body, not this.
    data = request.read(limit + 1)
    if len(data) > limit:
        return 413, {"chunk": [f"Chunks may be at most {limit} bytes."]}, session
    try:
        session = services.upload_append(session=session, by=by, offset=offset, data=data, declared_total=declared)
    except services.NotVideo as exc:
        return status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, _errors(exc), session
    except services.UploadRefused as exc:
        session.refresh_from_db()
        code: int = status.HTTP_409_CONFLICT if _has_code(exc, "offset") else status.HTTP_400_BAD_REQUEST
        if _has_code(exc, "inactive"):
            code = status.HTTP_410_GONE
        return code, _errors(exc), session
    except ValidationError as exc:
        refused = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if _is_quota(exc) else status.HTTP_400_BAD_REQUEST
        return refused, _errors(exc), session
    return 200, dict(UploadOutputSerializer(session).data), session


class UploadListApi(APIView):
    @extend_schema(request=UploadCreateInputSerializer, responses={201: UploadOutputSerializer})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        if not ratelimit.hit(f"uploads:{user.pk}", limit=services.UPLOADS_PER_HOUR, window=3600):
            return Response({"detail": "Too many uploads started; try again later."}, status=429)
        serializer = UploadCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        stream = None
        if data.get("stream"):
            stream = get_owned_or_404(Stream.objects.all(), user, pk=data["stream"])
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


def _codes(exc: ValidationError) -> set[str | None]:
    if hasattr(exc, "error_dict"):
        return {e.code for errors in exc.error_dict.values() for e in errors}
    return {e.code for e in exc.error_list}


def _is_quota(exc: ValidationError) -> bool:
    return bool(_codes(exc) & {"quota", "too_large"})


class UploadDetailApi(APIView):
    def _session(self, request: Request, pk: str) -> UploadSession:
        return get_owned_or_404(UploadSession.objects.all(), request.user, pk=pk)

    @extend_schema(responses=UploadOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        session = self._session(request, pk)
        return _with_offset(Response(UploadOutputSerializer(session).data), session)  # type: ignore[return-value]

    def head(self, request: Request, pk: str) -> HttpResponse:
        return _with_offset(HttpResponse(status=200), self._session(request, pk))

    @extend_schema(request={"application/offset+octet-stream": OpenApiTypes.BINARY}, responses=UploadOutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        session = self._session(request, pk)
        code, body, session = receive_chunk(request._request, session, by=request_user(request))
        return _with_offset(Response(body, status=code), session)  # type: ignore[return-value]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        services.upload_abort(session=self._session(request, pk), by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _has_code(exc: ValidationError, code: str) -> bool:
    return code in _codes(exc)


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
    @extend_schema(responses=ClipOutputSerializer(many=True), operation_id="clips_list")
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
    @extend_schema(responses={(200, "video/mp4"): OpenApiTypes.BINARY}, summary="The clip's mezzanine")
    def get(self, request: Request, pk: int) -> HttpResponse:
        clip = get_owned_or_404(MediaClip.objects.all(), request.user, pk=pk)
        return serve_user_file(request, clip.mezzanine, filename=f"{clip.title}.mp4")


class StorageUsageApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="storage_usage")
    def get(self, request: Request) -> Response:
        return Response(storage_usage(request.user))


class BrandAssetUploadInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BrandAsset.Kind.choices)
    file = serializers.FileField(max_length=255)


class BrandAssetUploadApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request=BrandAssetUploadInputSerializer, responses={201: BrandAssetOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
        user = request_user(request)
        if not ratelimit.hit(f"uploads:{user.pk}", limit=services.UPLOADS_PER_HOUR, window=3600):
            return Response({"detail": "Too many uploads; try again later."}, status=429)
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
