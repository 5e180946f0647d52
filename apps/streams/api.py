"""REST endpoints for streams and guests: authorise, validate, call one service, present."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404, owned
from apps.core.rest import paginated, paginated_response, pagination_parameters, request_user
from apps.studio import services as studio

from . import services
from .models import Guest, Stream
from .serializers import (
    GuestInviteInputSerializer,
    GuestInviteOutputSerializer,
    GuestOutputSerializer,
    StreamInputSerializer,
    StreamOutputSerializer,
)


class StreamListApi(APIView):
    @extend_schema(
        parameters=[
            *pagination_parameters(),
            OpenApiParameter("status", str, enum=Stream.Status.values, description="Only streams in this state"),
        ],
        responses=paginated(StreamOutputSerializer),
        operation_id="streams_list",
    )
    def get(self, request: Request) -> Response:
        streams = owned(Stream.objects.all(), request.user)
        state = request.query_params.get("status")
        if state:
            streams = streams.filter(status=state)
        return paginated_response(queryset=streams, serializer_class=StreamOutputSerializer, request=request, view=self)

    @extend_schema(request=StreamInputSerializer, responses={201: StreamOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = StreamInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        stream = services.stream_create(owner=request_user(request), **serializer.validated_data)
        return Response(StreamOutputSerializer(stream).data, status=status.HTTP_201_CREATED)


class StreamDetailApi(APIView):
    @extend_schema(responses=StreamOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        return Response(StreamOutputSerializer(stream).data)

    @extend_schema(request=StreamInputSerializer(partial=True), responses=StreamOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        serializer = StreamInputSerializer(data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        stream = services.stream_update(stream=stream, by=request_user(request), **serializer.validated_data)
        return Response(StreamOutputSerializer(stream).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        services.stream_delete(stream=stream, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StreamGuestListApi(APIView):
    @extend_schema(
        parameters=pagination_parameters(),
        responses=paginated(GuestOutputSerializer),
        operation_id="streams_guests_list",
    )
    def get(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        return paginated_response(
            queryset=stream.guests.all(), serializer_class=GuestOutputSerializer, request=request, view=self
        )

    @extend_schema(
        request=GuestInviteInputSerializer,
        responses={201: GuestInviteOutputSerializer},
        summary="Invite a guest; the response carries the join link once",
    )
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        serializer = GuestInviteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guest, token = services.guest_invite(stream=stream, by=request_user(request), **serializer.to_service_kwargs())
        data = {**GuestOutputSerializer(guest).data, "token": token, "join_url": services.invite_link(token)}
        # The token must not linger in caches between us and the creator.
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class GuestUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=studio.MAX_DISPLAY_NAME, required=False)
    role = serializers.ChoiceField(choices=[Guest.Role.GUEST, Guest.Role.MODERATOR], required=False)
    expires_at = serializers.DateTimeField(required=False, help_text="In the past: the seat ends at once.")

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("Say what changes: display_name, role or expires_at.")
        return attrs


class GuestDetailApi(APIView):
    @extend_schema(responses=GuestOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
        return Response(GuestOutputSerializer(guest).data)

    @extend_schema(
        request=GuestUpdateSerializer,
        responses=GuestOutputSerializer,
        summary="Rename an invite, change its role or its expiry (a seat in use follows at once)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream", "stream__owner"), request.user, pk=pk)
        serializer = GuestUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guest = studio.guest_update(guest=guest, by=request_user(request), **serializer.validated_data)
        return Response(GuestOutputSerializer(guest).data)
