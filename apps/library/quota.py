"""Storage quota: recordings + library clips + brand assets + uploads in flight, per tier.

An upload in flight holds what it declared (its total size) from the moment it starts, or what it has
received when that is more (a recording still growing declares its size only with its last chunk).

`quota_check` locks the owner's row first, inside the caller's transaction, and the caller writes before
it commits: two uploads of one owner (on two web processes, say) check and write one after the other,
so they cannot both fit into the same free space.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from apps.accounts.tiers import Tier, limits_for


def _sum(queryset: Any, field: str) -> int:
    return int(queryset.aggregate(total=Sum(field))["total"] or 0)


def storage_used(user: Any) -> int:
    from apps.recordings.models import Recording

    from .models import MediaClip, UploadSession

    return (
        _sum(Recording.objects.owned_by(user), "size_bytes")
        + _sum(MediaClip.objects.owned_by(user), "size_bytes")
        # Brand images, through the owner's kits (branding builds on the library, not the other way round).
        + _sum(user.brand_kits.all(), "assets__size_bytes")
        # Unfinished uploads hold what they declared, or what they received when that is more.
        + int(
            UploadSession.objects.owned_by(user)
            .active()
            .aggregate(total=Sum(Greatest(Coalesce(F("total_bytes"), Value(0)), F("received_bytes"))))["total"]
            or 0
        )
    )


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop always returns


def storage_usage(user: Any) -> dict[str, Any]:
    """What the quota meter draws."""
    used = storage_used(user)
    limit = limits_for(user).storage_bytes
    return {
        "used": used,
        "limit": limit,
        "percent": min(100, round(used * 100 / limit)) if limit else 100,
        "used_label": human_bytes(used),
        "limit_label": human_bytes(limit),
        "tier": dict(Tier.CHOICES).get(getattr(user, "tier", Tier.FREE), "Free"),
    }


def lock_owner(user: Any) -> None:
    """Take the owner's row lock until the current transaction ends (quota checks take turns per owner)."""
    from apps.accounts.models import User

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quota checks run inside the transaction that writes what they allowed")
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def quota_check(user: Any, *, adding: int, field: str = "file") -> None:
    """Refuse `adding` more bytes if they do not fit the owner's plan (the owner stays locked: see above)."""
    lock_owner(user)
    usage = storage_usage(user)
    if usage["used"] + adding > usage["limit"]:
        raise ValidationError(
            {
                field: ValidationError(
                    (
                        f"Not enough storage: you use {usage['used_label']} of the {usage['limit_label']} "
                        f"on the {usage['tier']} plan and this needs {human_bytes(adding)} more. "
                        "Delete recordings or clips, or upgrade your plan."
                    ),
                    code="quota",
                )
            }
        )
