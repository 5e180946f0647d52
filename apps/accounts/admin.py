from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .models import User


class UserCreationAdminForm(AdminUserCreationForm):
    # No Meta of our own: the admin builds the form for our User from add_fieldsets.
    def clean_email(self) -> str:
        # The manager lower-cases emails on create_user; keep the admin consistent with it.
        return self.cleaned_data["email"].strip().lower()


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationAdminForm
    list_display = ("email", "username", "tier", "stream_count", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("tier", "is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "username", "first_name", "last_name")
    ordering = ("email",)
    date_hierarchy = "date_joined"
    readonly_fields = ("last_login", "date_joined", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Plan", {"fields": ("tier",)}),
        ("Profile", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "username", "tier", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_stream_count=Count("streams", distinct=True))

    @admin.display(description="streams", ordering="_stream_count")
    def stream_count(self, obj: Any) -> int:
        return getattr(obj, "_stream_count", 0)


admin.site.site_header = "StreamUs admin"
admin.site.site_title = "StreamUs admin"
admin.site.index_title = "Creators, streams and everything they own"
