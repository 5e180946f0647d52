"""The destination form. The stream key is write-only: a password input that is never pre-filled."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import Canvas, Platform, StreamDestination, reject_key_in_url


class DestinationForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices, initial=Platform.YOUTUBE)
    name = forms.CharField(
        max_length=80, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. Main channel"})
    )
    rtmp_url = forms.CharField(
        label="Ingest URL",
        max_length=1024,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "rtmp://… or rtmps://…", "autocomplete": "off"}),
        help_text="Leave empty for YouTube, Twitch and Facebook: we use their default ingest.",
    )
    stream_key = forms.CharField(
        max_length=512,
        required=False,
        strip=True,
        # render_value=False: the key never goes back to the browser, not even after a form error.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}),
        help_text="Stored encrypted. We only ever show its last four characters.",
    )
    canvas = forms.ChoiceField(choices=Canvas.choices, initial=Canvas.LANDSCAPE)
    enabled = forms.BooleanField(label="Send the show here", required=False, initial=True)

    def __init__(self, *args: Any, destination: StreamDestination | None = None, **kwargs: Any) -> None:
        if destination is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "platform": destination.platform,
                "name": destination.name,
                "rtmp_url": destination.rtmp_url,
                "canvas": destination.canvas,
                "enabled": destination.enabled,
            }
        super().__init__(*args, **kwargs)
        self.destination = destination
        if destination is not None and destination.has_stream_key:
            self.fields[
                "stream_key"
            ].help_text = f"Current key {destination.masked_stream_key}. Leave empty to keep it, or paste a new one."
        if destination is None:
            # New destinations are enabled; the toggle only matters when editing.
            del self.fields["enabled"]

    def clean_rtmp_url(self) -> str:
        url: str = self.cleaned_data.get("rtmp_url", "")
        try:
            reject_key_in_url(url, self.data.get("stream_key", "").strip())
        except ValidationError:
            # The key would come straight back in the URL input: clear it.
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict
            data["rtmp_url"] = ""
            self.data = data
            raise
        return url

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.destination is not None and not data.get("stream_key"):
            data.pop("stream_key", None)  # blank means "keep the stored key"
        return data
