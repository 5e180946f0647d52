"""REST endpoints for destinations, listed and created under their stream."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404
from apps.core.rest import paginated, paginated_response, pagination_parameters, request_user
from apps.streams.models import Stream

from . import services
from .models import StreamDestination
from .serializers import DestinationInputSerializer, DestinationOutputSerializer


class StreamDestinationListApi(APIView):
    @extend_schema(
        parameters=pagination_parameters(),
        responses=paginated(DestinationOutputSerializer),
        operation_id="streams_destinations_list",
    )
    def get(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        return paginated_response(
            queryset=stream.destinations.all(), serializer_class=DestinationOutputSerializer, request=request, view=self
        )

    @extend_schema(request=DestinationInputSerializer, responses={201: DestinationOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=pk)
        serializer = DestinationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        destination = services.destination_create(stream=stream, by=request_user(request), **serializer.validated_data)
        return Response(DestinationOutputSerializer(destination).data, status=status.HTTP_201_CREATED)


class DestinationDetailApi(APIView):
    @extend_schema(responses=DestinationOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        destination = get_owned_or_404(StreamDestination.objects.all(), request.user, pk=pk)
        return Response(DestinationOutputSerializer(destination).data)

    @extend_schema(request=DestinationInputSerializer(partial=True), responses=DestinationOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        destination = get_owned_or_404(StreamDestination.objects.select_related("stream"), request.user, pk=pk)
        serializer = DestinationInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        destination = services.destination_update(
            destination=destination, by=request_user(request), **serializer.validated_data
        )
        return Response(DestinationOutputSerializer(destination).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        destination = get_owned_or_404(StreamDestination.objects.select_related("stream"), request.user, pk=pk)
        services.destination_delete(destination=destination, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DestinationLiveApi(APIView):
    """Start (POST) or stop (DELETE) one destination's push while its stream is live.

    The running show follows the destination's `enabled` flag within a second; its progress then
    shows in the destination's status and health.
    """

    @extend_schema(request=None, responses={202: DestinationOutputSerializer}, summary="Start pushing while live")
    def post(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, on=True)

    @extend_schema(request=None, responses={202: DestinationOutputSerializer}, summary="Stop pushing while live")
    def delete(self, request: Request, pk: int) -> Response:
        return self._set(request, pk, on=False)

    def _set(self, request: Request, pk: int, *, on: bool) -> Response:
        destination = get_owned_or_404(StreamDestination.objects.select_related("stream"), request.user, pk=pk)
        destination = services.destination_live_set(destination=destination, by=request_user(request), on=on)
        return Response(DestinationOutputSerializer(destination).data, status=status.HTTP_202_ACCEPTED)
