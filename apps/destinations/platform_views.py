"""Connected accounts: the page, connect / callback / disconnect, and the API listing.

Views stay thin: they authorise, call one function of `platform_services`,
and render. No view ever puts a token in a response.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.ownership import get_owned_or_404, owned
from apps.core.rest import paginated, paginated_response, pagination_parameters, request_user
from apps.streams.models import Stream

from . import platform_services
from .models import ConnectedAccount, PrivacyStatus, StreamDestination

logger = logging.getLogger(__name__)


def _page(request: HttpRequest, *, error: str = "", status_code: int = 200) -> HttpResponse:
    accounts = owned(ConnectedAccount.objects.all(), request.user).prefetch_related("destinations")
    streams = owned(Stream.objects.exclude(status=Stream.Status.ENDED), request.user).order_by("-created_at")[:50]
    context = {
        "accounts": list(accounts),
        "options": platform_services.platform_options(),
        "streams": list(streams),
        "privacy_choices": PrivacyStatus.choices,
        "error": error,
    }
    return render(request, "destinations/connections.html", context, status=status_code)


class PlatformDestinationForm(forms.Form):
    """Add a connected channel to one of the creator's streams (the page form; the API has its serializer)."""

    stream = forms.IntegerField()
    target_id = forms.CharField(required=False, max_length=128)
    title = forms.CharField(required=False, max_length=140)
    description = forms.CharField(required=False, max_length=5000)
    privacy = forms.ChoiceField(choices=PrivacyStatus.choices, required=False)
    category = forms.CharField(required=False, max_length=140)


@require_GET
@login_required
def connections(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
def connect(request: HttpRequest, platform: str) -> HttpResponse:
    try:
        url = platform_services.connection_start(session=request.session, platform=platform)
    except ValidationError as exc:
        return _page(request, error=" ".join(exc.messages), status_code=400)
    return HttpResponseRedirect(url)


@require_GET
@never_cache
@login_required
def callback(request: HttpRequest, platform: str) -> HttpResponse:
    try:
        account = platform_services.connection_complete(
            user=request.user, session=request.session, platform=platform, params=request.GET.dict()
        )
    except ValidationError as exc:
        return _page(request, error=" ".join(exc.messages), status_code=400)
    messages.success(request, f"{account.get_platform_display()} account “{account.display_name}” connected.")
    return redirect("connections:list")


@require_POST
@login_required
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_owned_or_404(ConnectedAccount.objects.all(), request.user, pk=pk)
    name = str(account)
    platform_services.account_disconnect(account=account, by=request.user)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, f"{name} disconnected; StreamUs's access was revoked.")
    return redirect("connections:list")


@require_POST
@login_required
def add_destination(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_owned_or_404(ConnectedAccount.objects.all(), request.user, pk=pk)
    form = PlatformDestinationForm(request.POST)
    if not form.is_valid():
        return _page(request, error="Choose a stream to add this account to.", status_code=400)
    data = form.cleaned_data
    stream = get_owned_or_404(Stream.objects.all(), request.user, pk=data["stream"])
    try:
        destination = platform_services.platform_destination_create(
            stream=stream,
            account=account,
            by=request.user,
            target_id=data["target_id"] or "",
            title=data["title"] or "",
            description=data["description"] or "",
            privacy=data["privacy"] or PrivacyStatus.PUBLIC,
            category=data["category"] or "",
        )
    except ValidationError as exc:
        return _page(request, error=" ".join(exc.messages), status_code=400)
    messages.success(request, f"{destination.display_name} added to “{stream.title}”.")
    return redirect("stream_detail", pk=stream.pk)


# --- API ----------------------------------------------------------------------------------


class ConnectedAccountOutputSerializer(serializers.ModelSerializer[ConnectedAccount]):
    """What an integrator may see of a connection: never a token, not even masked."""

    class Meta:
        model = ConnectedAccount
        fields = [
            "id",
            "platform",
            "external_id",
            "display_name",
            "handle",
            "targets",
            "status",
            "last_error",
            "scopes",
            "token_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class PlatformDestinationInputSerializer(serializers.Serializer[dict[str, object]]):
    stream = serializers.IntegerField()
    target_id = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")
    title = serializers.CharField(required=False, allow_blank=True, max_length=140, default="")
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    privacy = serializers.ChoiceField(choices=PrivacyStatus.choices, required=False, default=PrivacyStatus.PUBLIC)
    category = serializers.CharField(required=False, allow_blank=True, max_length=140, default="")


class PlatformDestinationOutputSerializer(serializers.ModelSerializer[StreamDestination]):
    class Meta:
        model = StreamDestination
        fields = [
            "id",
            "stream",
            "platform",
            "name",
            "account",
            "platform_target_id",
            "title_override",
            "description_override",
            "privacy",
            "category",
            "status",
            "last_error",
            "platform_state",
            "chat_id",
        ]
        read_only_fields = fields


class ConnectionListApi(APIView):
    @extend_schema(
        parameters=pagination_parameters(),
        responses=paginated(ConnectedAccountOutputSerializer),
        operation_id="connections_list",
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=owned(ConnectedAccount.objects.all(), request.user),
            serializer_class=ConnectedAccountOutputSerializer,
            request=request,
            view=self,
        )


class ConnectionDetailApi(APIView):
    @extend_schema(responses=ConnectedAccountOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        account = get_owned_or_404(ConnectedAccount.objects.all(), request.user, pk=pk)
        return Response(ConnectedAccountOutputSerializer(account).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        account = get_owned_or_404(ConnectedAccount.objects.all(), request.user, pk=pk)
        platform_services.account_disconnect(account=account, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionDestinationCreateApi(APIView):
    """Add a destination that goes live on this connected channel (ingest and key are fetched at go-live)."""

    @extend_schema(request=PlatformDestinationInputSerializer, responses={201: PlatformDestinationOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        account = get_owned_or_404(ConnectedAccount.objects.all(), request.user, pk=pk)
        serializer = PlatformDestinationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        stream = get_owned_or_404(Stream.objects.all(), request.user, pk=data.pop("stream"))
        destination = platform_services.platform_destination_create(
            stream=stream,
            account=account,
            by=request_user(request),
            target_id=str(data["target_id"]),
            title=str(data["title"]),
            description=str(data["description"]),
            privacy=str(data["privacy"]),
            category=str(data["category"]),
        )
        return Response(PlatformDestinationOutputSerializer(destination).data, status=status.HTTP_201_CREATED)
