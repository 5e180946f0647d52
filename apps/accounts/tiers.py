"""Subscription tiers and their limits: the one place they are defined.

Services that create limited objects call `limits_for(user)` and raise a
ValidationError with `limit_message(...)` when a limit is hit.
"""

from __future__ import annotations

from dataclasses import dataclass


class Tier:
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"
    CHOICES = [(FREE, "Free"), (PRO, "Pro"), (ENTERPRISE, "Enterprise")]


@dataclass(frozen=True)
class TierLimits:
    guests_on_stage: int
    destinations_per_stream: int
    max_height: int  # recording / program ceiling, in lines (1080 = 1080p)
    max_fps: int
    storage_bytes: int

    def allows_resolution(self, height: int, fps: int) -> bool:
        return height <= self.max_height and fps <= self.max_fps

    @property
    def ceiling_label(self) -> str:
        return f"{'4K' if self.max_height >= 2160 else f'{self.max_height}p'}{self.max_fps}"


GiB = 1024**3

TIER_LIMITS: dict[str, TierLimits] = {
    Tier.FREE: TierLimits(
        guests_on_stage=10, destinations_per_stream=3, max_height=1080, max_fps=30, storage_bytes=5 * GiB
    ),
    Tier.PRO: TierLimits(
        guests_on_stage=10, destinations_per_stream=10, max_height=2160, max_fps=60, storage_bytes=100 * GiB
    ),
    Tier.ENTERPRISE: TierLimits(
        guests_on_stage=10, destinations_per_stream=25, max_height=2160, max_fps=60, storage_bytes=1024 * GiB
    ),
}


def limits_for(user: object) -> TierLimits:
    return TIER_LIMITS[getattr(user, "tier", Tier.FREE)]
