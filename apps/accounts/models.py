from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone

from .tiers import Tier, TierLimits, limits_for


class UserManager(DjangoUserManager["User"]):
    """Email is the login; username is a display handle."""

    def create_user(self, username: str, email: str | None = None, password: str | None = None, **extra):  # type: ignore[override]
        if not email:
            raise ValueError("An email address is required.")
        return super().create_user(username, email=self.normalize_email(email).lower(), password=password, **extra)

    def create_superuser(self, username: str, email: str | None = None, password: str | None = None, **extra):  # type: ignore[override]
        if not email:
            raise ValueError("An email address is required.")
        return super().create_superuser(username, email=self.normalize_email(email).lower(), password=password, **extra)


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)
    tier = models.CharField(max_length=16, choices=Tier.CHOICES, default=Tier.FREE)
    # API tokens (JWT access and refresh) issued before this moment are refused: set when the password
    # changes (here, in set_password, whoever calls it: pages, admin, manage.py) or all tokens are revoked.
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.tokens_valid_after = timezone.now()

    @property
    def public_name(self) -> str:
        """What guests and viewers see: the username. The email is the login and never leaves the account."""
        return self.username or "Host"

    @property
    def limits(self) -> TierLimits:
        return limits_for(self)
