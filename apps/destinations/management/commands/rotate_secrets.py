"""Re-encrypt every stored secret with the newest key.

Rotating keys:
  1. put the new key first in STREAM_KEY_ENCRYPTION_KEYS (keep the old ones after it) and deploy;
  2. run `manage.py rotate_secrets`;
  3. drop the old keys from STREAM_KEY_ENCRYPTION_KEYS and deploy again.

Encrypted columns are found, not listed: every text field named `*_encrypted`
on any installed model holds Fernet ciphertext from `apps.core.crypto`, so a
new secret column is rotated without touching this command.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from apps.core import crypto

ENCRYPTED_SUFFIX = "_encrypted"
# Rows re-encrypted per transaction: bounded lock time on big tables.
BATCH_SIZE = 500


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.TextField | models.CharField)
                and field.name.endswith(ENCRYPTED_SUFFIX)
                and not field.many_to_many
            ):
                found.append((model, field.name))
    return found


def rotate_field(model: type[models.Model], field: str, *, dry_run: bool = False) -> int:
    """Re-encrypt one column; returns how many rows were rewritten."""
    rotated = 0
    ids = list(model._default_manager.exclude(**{field: ""}).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction.atomic():
            rows = model._default_manager.select_for_update().filter(pk__in=ids[start : start + BATCH_SIZE])
            for pk, ciphertext in rows.values_list("pk", field):
                if not ciphertext:
                    continue
                try:
                    fresh = crypto.rotate(ciphertext)
                except InvalidToken as exc:
                    raise CommandError(
                        f"{model._meta.label}.{field} of row {pk} cannot be decrypted with any configured key; "
                        "nothing after it was rotated."
                    ) from exc
                if not dry_run:
                    # update() rather than save(): no auto_now bumps, no signals, only this column.
                    model._default_manager.filter(pk=pk).update(**{field: fresh})
                rotated += 1
    return rotated


class Command(BaseCommand):
    help = "Re-encrypt stream keys and every other *_encrypted field with the newest STREAM_KEY_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Check every secret decrypts; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        crypto.fernet()  # fail early and clearly when no key is configured
        total = 0
        for model, field in encrypted_fields():
            count = rotate_field(model, field, dry_run=options["dry_run"])
            total += count
            self.stdout.write(f"{model._meta.label}.{field}: {count} rotated")
        verb = "would be rotated" if options["dry_run"] else "rotated"
        self.stdout.write(self.style.SUCCESS(f"{total} secrets {verb} with the newest key."))
