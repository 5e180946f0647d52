"""Forms for the account pages: sign-up and an email-labelled, rate-limited login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from apps.core import ratelimit

from .models import User

TOO_MANY_ATTEMPTS = "Too many login attempts. Wait a few minutes and try again."


class RateLimitedLoginMixin:
    """For AuthenticationForm subclasses: count the attempt before the password is checked.

    Every POST counts, right or wrong, so guessing costs the same either way. When the limiter says wait,
    the form is invalid with `retry_after` set (the view answers 429 with Retry-After).
    """

    retry_after = 0
    request: Any
    data: Any

    def clean(self) -> dict[str, Any]:
        wait = ratelimit.login_check(self.request, str(self.data.get("username", "")))
        if wait:
            self.retry_after = wait
            raise forms.ValidationError(TOO_MANY_ATTEMPTS, code="rate_limited")
        return super().clean()  # type: ignore[misc]


class SignUpForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    username = forms.CharField(
        max_length=150,
        help_text="Shown to your guests in the studio. Letters, digits and @ . + - _ only.",
        validators=[User.username_validator],
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not only digits, not a common password.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in instead?")
        return email

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            # Validators compare the password with the email and username, so build the would-be user.
            candidate = User(email=cleaned.get("email", ""), username=cleaned.get("username", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    def save(self) -> User:
        return User.objects.create_user(
            username=self.cleaned_data["username"],
            email=self.cleaned_data["email"],
            password=self.cleaned_data["password"],
        )


class EmailLoginForm(RateLimitedLoginMixin, AuthenticationForm):
    """The User model logs in by email; say so on the page."""

    username = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
    }
