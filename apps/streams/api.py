"""REST endpoints for streams and guests: authorise, validate, call one service, present."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import paginated_response, request_user
from apps.core.ownership import get_owned_or_404, owned

from . import services
from .models import Guest, Stream
from .serializers import (
    GuestInviteInputSerializer,
    GuestInviteOutputSerializer,
    GuestOutputSerializer,
    StreamInputSerializer,
    StreamOutputSerializer,
)


def join_url(token: str) -> str:
    """The link a guest opens. Built from SITE_URL, never from the request's Host header."""
    try:
        path = reverse("guest_join", kwargs={"token": token})
    except NoReverseMatch:
        path = f"/join/{token}/"
    return settings.SITE_URL.rstrip("/") + path


class StreamListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Stream.Status.values, description="Only streams in this state")
        ],
        responses=StreamOutputSerializer(many=True),
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


class StreamGoLiveApi(APIView):
    @extend_schema(request=None, responses=StreamOutputSerializer, summary="scheduled → live")
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        stream = services.stream_go_live(stream=stream, by=request_user(request))
        return Response(StreamOutputSerializer(stream).data)


class StreamEndApi(APIView):
    @extend_schema(request=None, responses=StreamOutputSerializer, summary="live → ended")
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        stream = services.stream_end(stream=stream, by=request_user(request))
        return Response(StreamOutputSerializer(stream).data)


class StreamGuestListApi(APIView):
    @extend_schema(responses=GuestOutputSerializer(many=True), operation_id="streams_guests_list")
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
        data = {**GuestOutputSerializer(guest).data, "token": token, "join_url": join_url(token)}
        # The token must not linger in caches between us and the creator.
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class GuestDetailApi(APIView):
    @extend_schema(responses=GuestOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
        return Response(GuestOutputSerializer(guest).data)


class GuestRevokeApi(APIView):
    @extend_schema(request=None, responses=GuestOutputSerializer, summary="Revoke the invite link")
    def post(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
        guest = services.guest_revoke(guest=guest, by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)


class GuestStageApi(APIView):
    @extend_schema(request=None, responses=GuestOutputSerializer, summary="Bring the guest on stage")
    def post(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
        guest = services.guest_bring_on_stage(guest=guest, by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)


class GuestBackstageApi(APIView):
    @extend_schema(request=None, responses=GuestOutputSerializer, summary="Send the guest backstage")
    def post(self, request: Request, pk: int) -> Response:
        guest = get_owned_or_404(Guest.objects.select_related("stream"), request.user, pk=pk)
        guest = services.guest_send_backstage(guest=guest, by=request_user(request))
        return Response(GuestOutputSerializer(guest).data)
