"""While a show runs, move the broadcasts of connected channels to live once the platform sees video.

YouTube creates a broadcast in the `created` state and goes live only after its ingest receives
video (`transition`). This thread, one per show in the media worker, does that step.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import connection

from apps.destinations.models import PlatformState, StreamDestination
from apps.destinations.platform_services import advance_platform_destinations
from apps.destinations.platforms import client_for
from apps.streams.models import Stream

logger = logging.getLogger(__name__)


class PlatformGoLiveWatcher:
    """While the show runs, moves broadcasts waiting for video to live (YouTube `transition`), on its own thread.

    Every `poll_seconds` it looks for connected destinations in the `created` state
    (one query) and, when there are some, runs one `advance_platform_destinations`
    step. Destinations added while live are picked up too. One that waits longer than
    `give_up_seconds` (YouTube normally sees video within seconds) is marked failed
    with an explanation, so a broken ingest does not burn API quota all show long.
    """

    POLL_SECONDS = 5.0
    GIVE_UP_SECONDS = 15 * 60.0

    def __init__(self, stream_id: int, *, poll_seconds: float | None = None, give_up_seconds: float | None = None):
        self.stream_id = stream_id
        self.poll_seconds = self.POLL_SECONDS if poll_seconds is None else poll_seconds
        self.give_up_seconds = self.GIVE_UP_SECONDS if give_up_seconds is None else give_up_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first_seen: dict[int, float] = {}

    def start(self) -> PlatformGoLiveWatcher:
        self._thread = threading.Thread(target=self._run, name=f"platform-live-{self.stream_id}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.poll_seconds):
                self.step()
        except Exception:  # a watcher bug must not reach the show
            logger.exception("platform go-live watcher failed", extra={"stream_id": self.stream_id})
        finally:
            connection.close()  # this thread's own database connection

    def step(self) -> bool:
        """One poll; True when a destination was advanced or given up on."""
        waiting = list(
            StreamDestination.objects.filter(
                stream_id=self.stream_id, enabled=True, account__isnull=False, platform_state=PlatformState.CREATED
            ).values_list("pk", "platform")
        )
        now = time.monotonic()
        expired = []
        for pk, platform in waiting:
            if now - self._first_seen.setdefault(pk, now) > self.give_up_seconds:
                expired.append((pk, platform))
        for pk, platform in expired:
            label = client_for(platform).label
            minutes = round(self.give_up_seconds / 60)
            StreamDestination.objects.filter(pk=pk).update(
                status=StreamDestination.Status.ERROR,
                platform_state=PlatformState.FAILED,
                last_error=(
                    f"{label} did not receive the video within {minutes} minutes, so the broadcast was not "
                    "started there. Check this destination's health, then remove and add it again."
                ),
            )
        if len(waiting) == len(expired):
            return bool(expired)
        stream = Stream.objects.filter(pk=self.stream_id).first()
        advanced = advance_platform_destinations(stream=stream) if stream is not None else []
        return bool(advanced or expired)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
