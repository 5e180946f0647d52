"""Can this show go on air here? Asked before going live and again by the worker that runs it.

Going live also asks the media workers' own measurements (apps/shows/capacity.py): a show that would
fall behind on every calibrated worker is refused with the nearest setting that fits.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.accounts.tiers import limits_for
from apps.streams.models import Stream
from media.broadcast.capacity import SOFTWARE_ENCODER, CapacityError, available_encoders, choose_encoder

from . import capacity


def show_check(*, stream: Stream, going_live: bool = True) -> str:
    """The encoder this show will use, or ValidationError: plan ceiling first, then the encoders, then (going
    live) what the media workers measured. The worker that runs the show does not refuse it on its own
    measurement: it starts it at the nearest setting that fits (apps/shows/runner.py)."""
    width, height = stream.size
    fps = int(stream.fps)
    limits = limits_for(stream.owner)
    if not limits.allows_resolution(height, fps):
        message = (
            f"Your plan streams up to {limits.ceiling_label}; {stream.resolution} at {fps} fps needs a higher plan."
        )
        raise ValidationError({"resolution": message}, code="tier_limit")
    canvases = 2 if stream.vertical_canvas else 1
    answer = capacity.admission(stream)  # None: no media worker has measured itself yet
    try:
        encoder = choose_encoder(width, height, fps, canvases=canvases)
    except CapacityError as exc:
        # Without a measurement, a rule of thumb refuses; with one, the measurement decides (below).
        if answer is None or SOFTWARE_ENCODER not in available_encoders():
            raise ValidationError({"resolution": str(exc)}, code="capacity") from exc
        encoder = SOFTWARE_ENCODER
    if going_live and encoder == SOFTWARE_ENCODER and answer is not None and answer.needs_other_settings:
        raise ValidationError({"resolution": answer.refusal(stream, capacity.guests_of(stream))}, code="capacity")
    return encoder
