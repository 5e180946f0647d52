"""Read a live show's chats in the foreground (a supervised process instead of Celery slices)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from apps.engagement.ingest import runner


class Command(BaseCommand):
    help = "Ingest comments for one live stream until it ends or SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("stream_id", type=int)

    def handle(self, *args: Any, stream_id: int, **options: Any) -> None:
        async def main() -> dict[str, str]:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            return await runner.ingest_stream(stream_id, stop=stop)

        outcome = asyncio.run(main())
        self.stdout.write(str(outcome or "another runner holds this stream, or it has no chat to read"))
