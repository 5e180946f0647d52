"""Brand kit pages: kits, their assets (upload, placement with a live preview), scene templates.

Views authorise through get_owned_or_404, call one service and render the page,
or only the fragment HTMX asked for. Invalid input answers 422 with the form.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core import ratelimit
from apps.core.ownership import get_owned_or_404, owned
from apps.library import services as library_services
from apps.library.files import serve_user_file, wants_download
from apps.library.quota import storage_usage
from apps.streams.forms import add_service_errors
from apps.streams.models import Stream

from . import services
from .forms import ApplyToStreamForm, BrandAssetPlacementForm, BrandAssetUploadForm, BrandKitForm, SceneTemplateForm
from .models import BrandAsset, BrandKit, SceneTemplate

INVALID = 422


def _editable_streams(user: Any) -> Any:
    # Live shows too: a kit may be applied on air (stream_update decides what may change when).
    return owned(Stream.objects.all(), user).exclude(status=Stream.Status.ENDED)


def _kit_form(kit: BrandKit | None = None, data: Any = None) -> BrandKitForm:
    initial = (
        {"name": kit.name, "primary_colour": kit.primary_colour, "accent_colour": kit.accent_colour, "font": kit.font}
        if kit
        else {"primary_colour": "#5B4BFF", "accent_colour": "#FFFFFF", "font": "DejaVu Sans"}
    )
    return BrandKitForm(data=data, initial=initial)


@require_http_methods(["GET", "POST"])
@login_required
def kit_list(request: HttpRequest) -> HttpResponse:
    kits = owned(BrandKit.objects.annotate(asset_count=Count("assets")), request.user)
    form = _kit_form(data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                kit = services.brand_kit_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Brand kit “{kit.name}” created.")
                return redirect("branding:kit", pk=kit.pk)
        status = INVALID
    templates = owned(SceneTemplate.objects.select_related("brand_kit"), request.user)
    context = {
        "kits": kits,
        "form": form,
        "templates": templates,
        "template_form": SceneTemplateForm(kits=owned(BrandKit.objects.all(), request.user)),
        "apply_form": ApplyToStreamForm(streams=_editable_streams(request.user)),
        "usage": storage_usage(request.user),
    }
    return render(request, "branding/kit_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def kit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
    form = _kit_form(kit, data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                kit = services.brand_kit_update(kit=kit, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Brand kit saved.")
                return redirect("branding:kit", pk=kit.pk)
        status = INVALID
    return _render_kit(request, kit, form=form, status=status)


def _render_kit(
    request: HttpRequest,
    kit: BrandKit,
    *,
    form: BrandKitForm | None = None,
    upload_form: BrandAssetUploadForm | None = None,
    apply_form: ApplyToStreamForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "kit": kit,
        "form": form or _kit_form(kit),
        "assets": kit.assets.all(),
        "upload_form": upload_form or BrandAssetUploadForm(),
        "apply_form": apply_form or ApplyToStreamForm(streams=_editable_streams(request.user)),
        "streams_using": kit.streams.all(),
        "usage": storage_usage(request.user),
    }
    return render(request, "branding/kit_detail.html", context, status=status)


@require_POST
@login_required
def kit_delete(request: HttpRequest, pk: int) -> HttpResponse:
    kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
    services.brand_kit_delete(kit=kit, by=request.user)  # type: ignore[arg-type]
    messages.success(request, f"Brand kit “{kit.name}” deleted.")
    return redirect("branding:kits")


@require_POST
@login_required
def asset_upload(request: HttpRequest, pk: int) -> HttpResponse:
    kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
    form = BrandAssetUploadForm(request.POST, request.FILES)
    if not ratelimit.hit(f"uploads:{request.user.pk}", limit=library_services.UPLOADS_PER_HOUR, window=3600):
        form.add_error(None, "Too many uploads; try again later.")
        return _render_kit(request, kit, upload_form=form, status=429)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.brand_asset_upload(
                kit=kit,
                by=request.user,  # type: ignore[arg-type]
                kind=form.cleaned_data["kind"],
                upload=upload,
                filename=upload.name or "",
                size=upload.size,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Image added to the kit.")
            return redirect("branding:kit", pk=kit.pk)
    return _render_kit(request, kit, upload_form=form, status=INVALID)


@require_POST
@login_required
def asset_place(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
    form = BrandAssetPlacementForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            asset = services.brand_asset_update(asset=asset, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = INVALID
    else:
        status = INVALID
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "branding/_asset_row.html", {"asset": asset, "form": form}, status=status)
    if status == 200:
        messages.success(request, "Placement saved.")
    return redirect("branding:kit", pk=asset.kit_id)


@require_POST
@login_required
def asset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
    kit_id = asset.kit_id
    services.brand_asset_delete(asset=asset, by=request.user)  # type: ignore[arg-type]
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    messages.success(request, "Image removed.")
    return redirect("branding:kit", pk=kit_id)


@require_GET
@login_required
def asset_file(request: HttpRequest, pk: int) -> HttpResponse:
    asset = get_owned_or_404(BrandAsset.objects.select_related("kit"), request.user, pk=pk)
    name = f"{asset.kit.name}-{asset.kind}.{asset.file.name.rsplit('.', 1)[-1]}"
    return serve_user_file(request, asset.file, filename=name, inline=not wants_download(request))


@require_POST
@login_required
def kit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    kit = get_owned_or_404(BrandKit.objects.all(), request.user, pk=pk)
    form = ApplyToStreamForm(request.POST, streams=_editable_streams(request.user))
    if form.is_valid():
        stream = form.cleaned_data["stream"]
        try:
            services.brand_kit_apply(kit=kit, stream=stream, by=request.user)  # type: ignore[arg-type]
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, exc if isinstance(exc, ValidationError) else "You do not own this stream.")
        else:
            messages.success(request, f"“{stream.title}” now uses the {kit.name} kit.")
            return redirect("branding:kit", pk=kit.pk)
    return _render_kit(request, kit, apply_form=form, status=INVALID)


@require_POST
@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    kits = owned(BrandKit.objects.all(), request.user)
    form = SceneTemplateForm(request.POST, kits=kits)
    if form.is_valid():
        try:
            services.scene_template_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Scene template saved.")
            return redirect("branding:kits")
    for errors in form.errors.values():
        messages.error(request, " ".join(str(e) for e in errors))
    return redirect("branding:kits")


@require_POST
@login_required
def template_apply(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_owned_or_404(SceneTemplate.objects.select_related("brand_kit"), request.user, pk=pk)
    form = ApplyToStreamForm(request.POST, streams=_editable_streams(request.user))
    if form.is_valid():
        stream = form.cleaned_data["stream"]
        try:
            services.scene_template_apply(template=template, stream=stream, by=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"“{stream.title}” now uses the {template.name} template.")
    else:
        messages.error(request, "Choose one of your scheduled streams.")
    return redirect("branding:kits")


@require_POST
@login_required
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_owned_or_404(SceneTemplate.objects.all(), request.user, pk=pk)
    services.scene_template_delete(template=template, by=request.user)  # type: ignore[arg-type]
    messages.success(request, "Scene template deleted.")
    return redirect("branding:kits")
