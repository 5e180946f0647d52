"""Admin for destinations and connected accounts.

Secrets never reach the page: the encrypted stream key and OAuth tokens are
not form fields (editable=False) and are not displayed; the key shows as its
mask, and a write-only field sets a new one through `set_stream_key`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from . import services
from .models import ConnectedAccount, StreamDestination


class StreamDestinationAdminForm(forms.ModelForm):
    new_stream_key = forms.CharField(
        label="New stream key",
        required=False,
        strip=True,
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Paste a key to replace the stored one. Leave empty to keep it.",
    )
    clear_stream_key = forms.BooleanField(label="Remove the stored key", required=False)

    class Meta:
        model = StreamDestination
        # The admin's fieldsets pick what shows; the key's ciphertext is editable=False and never a field.
        fields = (
            "stream",
            "platform",
            "name",
            "rtmp_url",
            "canvas",
            "enabled",
            "status",
            "last_error",
            "account",
            "platform_target_id",
            "title_override",
            "description_override",
            "privacy",
            "category",
            "platform_state",
            "platform_broadcast_id",
            "platform_stream_id",
            "chat_id",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        url = cleaned.get("rtmp_url")
        if url and ("rtmp_url" in self.changed_data or self.instance._state.adding):
            # The same SSRF guard as the services: an admin must not point a pusher at the metadata
            # service or the LAN either. Only when the URL changes, so an edit does not depend on DNS.
            try:
                services.check_reachable_host(StreamDestination(rtmp_url=url))
            except forms.ValidationError as exc:
                self.add_error("rtmp_url", exc.message_dict.get("rtmp_url", exc.messages))
        key = cleaned.get("new_stream_key") or ""
        if key and cleaned.get("clear_stream_key"):
            self.add_error("clear_stream_key", "Either paste a new key or remove the stored one, not both.")
        elif key:
            try:
                # Validates length and characters, and encrypts into the instance the form will save.
                self.instance.set_stream_key(key)
            except forms.ValidationError as exc:
                self.add_error("new_stream_key", exc.message_dict.get("stream_key", exc.messages))
        elif cleaned.get("clear_stream_key"):
            self.instance.set_stream_key("")
        return cleaned


@admin.register(StreamDestination)
class StreamDestinationAdmin(admin.ModelAdmin):
    form = StreamDestinationAdminForm
    list_display = (
        "display_name",
        "stream",
        "platform",
        "status",
        "enabled",
        "canvas",
        "masked_stream_key",
        "platform_state",
        "updated_at",
    )
    list_filter = ("platform", "status", "enabled", "canvas", "platform_state")
    search_fields = ("name", "rtmp_url", "stream__title", "stream__owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("stream", "account")
    list_select_related = ("stream",)
    readonly_fields = ("masked_stream_key", "health", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("stream", "platform", "name", "rtmp_url", "canvas", "enabled")}),
        ("Stream key", {"fields": ("masked_stream_key", "new_stream_key", "clear_stream_key")}),
        ("Status", {"fields": ("status", "last_error", "health")}),
        (
            "Connected channel",
            {
                "classes": ("collapse",),
                "fields": (
                    "account",
                    "platform_target_id",
                    "title_override",
                    "description_override",
                    "privacy",
                    "category",
                    "platform_state",
                    "platform_broadcast_id",
                    "platform_stream_id",
                    "chat_id",
                ),
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="stream key")
    def masked_stream_key(self, obj: StreamDestination) -> str:
        return obj.masked_stream_key or "—"


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = ("__str__", "owner", "platform", "status", "token_expires_at", "has_refresh_token", "updated_at")
    list_filter = ("platform", "status")
    search_fields = ("display_name", "external_id", "owner__email")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    # Tokens are editable=False ciphertext: not in the form and never displayed.
    readonly_fields = ("has_refresh_token", "token_expires_at", "created_at", "updated_at")
    fields = (
        "owner",
        "platform",
        "external_id",
        "display_name",
        "targets",
        "scopes",
        "status",
        "last_error",
        "token_expires_at",
        "has_refresh_token",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are connected through OAuth, which is what fills the tokens

    @admin.display(description="refresh token", boolean=True)
    def has_refresh_token(self, obj: ConnectedAccount) -> bool:
        return bool(obj.refresh_token_encrypted)
