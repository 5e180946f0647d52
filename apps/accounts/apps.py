from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        # Django sends these from every login path (site page, admin, API, anything added later), so the
        # account-wide failure ceiling and the known addresses see them all.
        user_login_failed.connect(_login_failed, dispatch_uid="streamus-login-failed")
        user_logged_in.connect(_logged_in, dispatch_uid="streamus-logged-in")


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from apps.core import ratelimit

    ratelimit.login_failed(request, str(credentials.get("email") or credentials.get("username") or ""))


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from apps.core import ratelimit

    ratelimit.login_succeeded(request, getattr(user, "email", ""))
