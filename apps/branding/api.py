"""REST endpoints for brand kits and the placement of their assets."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404, owned
from apps.core.rest import paginated, paginated_response, pagination_parameters, request_user
from apps.library.files import serve_user_file, serves_file

from . import services
from .models import BrandAsset, BrandKit
from .serializers import (
    BrandAssetOutputSerializer,
    BrandAssetPlacementInputSerializer,
    BrandKitInputSerializer,
    BrandKitOutputSerializer,
)


class BrandKitListApi(APIView):
    @extend_schema(
        parameters=pagination_parameters(),
        responses=paginated(BrandKitOutputSerializer),
        operation_id="brand_kits_list",
    )
    def get(self, request: Request) -> Response:
        kits = owned(BrandKit.objects.prefetch_related("assets"), request.user)
        return paginated_response(queryset=kits, serializer_class=BrandKitOutputSerializer, request=request, view=self)

    @extend_schema(request=BrandKitInputSerializer, responses={201: BrandKitOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = BrandKitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kit = services.brand_kit_create(owner=request_user(request), **serializer.validated_data)
        return Response(BrandKitOutputSerializer(kit).data, status=status.HTTP_201_CREATED)


class BrandKitDetailApi(APIView):
    @extend_schema(responses=BrandKitOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        kit = get_owned_or_404(BrandKit.objects.prefetch_related("assets"), request.user, pk=pk)
        return Response(BrandKitOutputSerializer(kit).data)

    @extend_schema(request=BrandKitInputSerializer(partial=True), responses=BrandKitOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
        serializer = BrandKitInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        kit = services.brand_kit_update(kit=kit, by=request_user(request), **serializer.validated_data)
        return Response(BrandKitOutputSerializer(kit).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
        services.brand_kit_delete(kit=kit, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrandAssetDetailApi(APIView):
    @extend_schema(responses=BrandAssetOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
        return Response(BrandAssetOutputSerializer(asset).data)

    @extend_schema(request=BrandAssetPlacementInputSerializer, responses=BrandAssetOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
        serializer = BrandAssetPlacementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asset = services.brand_asset_update(asset=asset, by=request_user(request), **serializer.validated_data)
        return Response(BrandAssetOutputSerializer(asset).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
        services.brand_asset_delete(asset=asset, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BrandAssetFileApi(APIView):
    @serves_file("image/png", "image/jpeg", "image/webp", summary="The asset's image")
    def get(self, request: Request, pk: int) -> HttpResponse:
        asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
        return serve_user_file(request, asset.file, filename=asset.original_name or asset.file.name.rsplit("/", 1)[-1])
