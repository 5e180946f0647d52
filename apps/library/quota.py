"""Storage quota: recordings + library clips + brand assets + uploads in flight, per tier."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Sum

from apps.accounts.tiers import Tier, limits_for


def _sum(queryset: Any, field: str) -> int:
    return int(queryset.aggregate(total=Sum(field))["total"] or 0)


def storage_used(user: Any) -> int:
    from apps.branding.models import BrandAsset
    from apps.recordings.models import Recording

    from .models import MediaClip, UploadSession

    return (
        _sum(Recording.objects.owned_by(user), "size_bytes")
        + _sum(MediaClip.objects.owned_by(user), "size_bytes")
        + _sum(BrandAsset.objects.owned_by(user), "size_bytes")
        # Bytes already received for unfinished uploads hold disk space too.
        + _sum(UploadSession.objects.owned_by(user).active(), "received_bytes")
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


def quota_check(user: Any, *, adding: int, field: str = "file") -> None:
    """Refuse `adding` more bytes if they do not fit the owner's plan."""
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
