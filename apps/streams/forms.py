"""Forms for the dashboard. They parse input only; the services in services.py validate and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model, model_to_dict
from django.utils import timezone

from apps.accounts.tiers import limits_for
from apps.branding.models import BrandKit

from . import services
from .models import FPS_CHOICES, RESOLUTIONS, Guest, Stream

# Output settings the encoder is built from; the services lock them once a show is live.
SETTINGS_FIELDS = list(services.SETTINGS_FIELD_ORDER)
STREAM_FIELDS = ["title", "description", "scheduled_start", *SETTINGS_FIELDS]
# A few minutes of slack so a form filled in slowly is not refused for "now".
PAST_SCHEDULE_SLACK = timedelta(minutes=5)


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field where the form has it, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


NEW_STREAM_RESOLUTION = "720p"


class StreamForm(forms.Form):
    """Title, schedule and output settings of a stream (fields and widgets come from the model)."""

    def __init__(self, *args: Any, owner: Any, stream: Stream | None = None, **kwargs: Any) -> None:
        if stream is not None and "initial" not in kwargs:
            kwargs["initial"] = model_to_dict(stream, fields=STREAM_FIELDS)
        super().__init__(*args, **kwargs)
        self.stream = stream
        self.owner = owner
        self.fields.update(fields_for_model(Stream, fields=STREAM_FIELDS))
        self.fields["title"].widget.attrs.update({"placeholder": "Friday night show", "autofocus": True})
        self.fields["description"].widget.attrs.update({"rows": 3, "placeholder": "What is this show about?"})
        self.fields["scheduled_start"] = forms.DateTimeField(
            label="Scheduled start",
            required=False,
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            help_text=f"In your time zone ({timezone.get_current_timezone_name()}). Leave empty to go live any time.",
            initial=self.initial.get("scheduled_start"),
        )
        limits = limits_for(owner)
        # Only what the plan allows is offered: nobody picks 4K to be told no.
        resolution = self.fields["resolution"]
        fps = self.fields["fps"]
        assert isinstance(resolution, forms.ChoiceField) and isinstance(fps, forms.ChoiceField)
        current = stream.resolution if stream is not None else None
        resolution.choices = [
            (key, f"{key} ({w}x{h})") for key, (w, h) in RESOLUTIONS.items() if h <= limits.max_height or key == current
        ]
        current_fps = stream.fps if stream is not None else None
        fps.choices = [
            (value, label) for value, label in FPS_CHOICES if value <= limits.max_fps or value == current_fps
        ]
        resolution.help_text = f"Your plan goes up to {limits.ceiling_label}."
        fps.label = "Frame rate (fps)"
        if stream is None and "resolution" not in self.initial:
            # 720p: sharp on every platform, and light on a self-hosted machine; 1080p is one click away.
            self.initial["resolution"] = NEW_STREAM_RESOLUTION
        self.fields["video_bitrate_kbps"].label = "Video bitrate (kbps)"
        self.fields["audio_bitrate_kbps"].label = "Audio bitrate (kbps)"
        self.fields["vertical_canvas"].label = "Also make a vertical 9:16 program"
        self.fields["vertical_canvas"].help_text = ""
        kit_field = self.fields["brand_kit"]
        assert isinstance(kit_field, forms.ModelChoiceField)
        kit_field.queryset = BrandKit.objects.owned_by(owner)
        kit_field.empty_label = "No branding"
        if stream is not None and stream.status != Stream.Status.SCHEDULED:
            # The encoder is configured at go-live: these cannot change any more (the service's rule; a
            # brand kit still may, it changes the picture, not the encoder).
            for name in [*services.LOCKED_WHILE_LIVE, "scheduled_start"]:
                self.fields[name].disabled = True

    def clean_scheduled_start(self) -> Any:
        when = self.cleaned_data.get("scheduled_start")
        unchanged = self.stream is not None and when == self.stream.scheduled_start
        if when and not unchanged and when < timezone.now() - PAST_SCHEDULE_SLACK:
            raise ValidationError("Pick a time in the future.")
        return when

    def clean(self) -> dict[str, Any]:
        """Ask the service for every other reason it would refuse these values, so all problems show at once."""
        cleaned = super().clean() or {}
        try:
            services.stream_check(
                owner=self.owner, stream=self.stream, exclude=set(self.errors), **self.service_kwargs()
            )
        except ValidationError as exc:
            add_service_errors(self, exc)
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        """What to pass to stream_create / stream_update: only fields the creator could change."""
        return {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}


class GuestInviteForm(forms.Form):
    EXPIRY_CHOICES = [("1h", "1 hour"), ("24h", "1 day"), ("7d", "7 days"), ("30d", "30 days")]
    EXPIRY = {
        "1h": timedelta(hours=1),
        "24h": timedelta(days=1),
        "7d": timedelta(days=7),
        "30d": timedelta(days=30),
    }

    display_name = forms.CharField(
        label="Guest name", max_length=80, required=False, widget=forms.TextInput(attrs={"placeholder": "Optional"})
    )
    role = forms.ChoiceField(
        choices=[(Guest.Role.GUEST, "Guest"), (Guest.Role.MODERATOR, "Moderator")], initial=Guest.Role.GUEST
    )
    expires_in = forms.ChoiceField(label="Link expires after", choices=EXPIRY_CHOICES, initial="24h")

    def ttl(self) -> timedelta:
        return self.EXPIRY[self.cleaned_data["expires_in"]]

    def create_invite(self, *, stream: Stream, by: Any) -> tuple[Guest, str] | None:
        """Validate, create the invite (guest_invite) and return it with its one-time link; None on errors,
        which are then on the form (the dashboard's and the studio's invite forms both post here)."""
        if not self.is_valid():
            return None
        try:
            guest, token = services.guest_invite(
                stream=stream,
                by=by,
                role=self.cleaned_data["role"],
                display_name=self.cleaned_data["display_name"],
                ttl=self.ttl(),
            )
        except ValidationError as exc:
            add_service_errors(self, exc)
            return None
        return guest, services.invite_link(token)
