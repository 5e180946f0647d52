"""Create (or reset) the demo creator account that `make run` prints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.accounts.models import User
from apps.accounts.tiers import Tier

DEMO_EMAIL = "demo@streamus.local"
DEMO_PASSWORD = "streamus-demo"


class Command(BaseCommand):
    help = "Create the demo creator account (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(
            email=options["email"],
            defaults={"username": "demo", "tier": Tier.PRO, "is_staff": True, "is_superuser": True},
        )
        user.set_password(options["password"])
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} demo account {user.email}")
