"""Account pages: sign-up, login (rate limited), logout, password change and reset.

Django's auth views do the work; these subclasses only point them at our
templates and namespaced URLs, and put the login rate limit in front.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from apps.core import ratelimit

from . import tokens
from .cookies import clear_token_cookies
from .forms import EmailLoginForm, SignUpForm

# Accounts per client address per hour: enough for a family or an office, not for a bot.
SIGNUPS_PER_HOUR = 10
SIGNUP_WINDOW_SECONDS = 3600


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not ratelimit.hit(
        f"signup:{ratelimit.client_ip(request)}", SIGNUPS_PER_HOUR, SIGNUP_WINDOW_SECONDS
    ):
        form.is_valid()  # keep what was typed on the page
        form.errors.clear()
        form.add_error(None, "Too many accounts were created from your network. Try again in an hour.")
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to StreamUs, {user.username}! Create your first stream below.")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form}, status=422 if form.errors else 200)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        # The form counted the attempt (apps.core.ratelimit.login_check) before checking the password.
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link or an image tag cannot log you out."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refresh = request.COOKIES.get(settings.JWT_REFRESH_COOKIE, "")
        response = super().post(request, *args, **kwargs)
        # The same browser may hold API tokens (JWT cookies): logging out ends them too.
        if refresh:
            tokens.revoke(refresh)
        clear_token_cookies(response)
        messages.info(request, "You are logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_invalid(self, form: Any) -> HttpResponse:
        """Keep what was right: only the fields with an error (and a mismatched pair) are typed again.

        The page goes back to the person who just typed these, over the same connection; nothing is stored.
        """
        wrong = set(form.errors)
        if wrong & {"new_password1", "new_password2"}:
            wrong |= {"new_password1", "new_password2"}
        for name, field in form.fields.items():
            if name not in wrong and hasattr(field.widget, "render_value"):
                field.widget.render_value = True
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # this browser's session stays logged in; other sessions end
        tokens.revoke_all(form.user, reason="password changed")
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, str]:  # type: ignore[override]
        # The link is built from SITE_URL, like invites: never from the request's Host header.
        return {"site_url": settings.SITE_URL.rstrip("/")}

    def form_valid(self, form: Any) -> HttpResponse:
        # Each POST can send an email: cap it per client so the page cannot be used to flood inboxes.
        if not ratelimit.hit(f"password-reset:{ratelimit.client_ip(self.request)}", limit=5, window=3600):
            form.add_error(None, "Too many reset requests from your network. Try again in an hour.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        tokens.revoke_all(form.user, reason="password reset")
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
