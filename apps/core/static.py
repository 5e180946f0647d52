"""Static files served by the web process itself: WhiteNoise, answering from Daphne's event loop.

WhiteNoise's Django middleware is synchronous: under ASGI, Django would run it (and everything
below it) through a thread for every request, and stream each file through a synchronous
iterator. This subclass keeps WhiteNoise's lookup, headers, compression negotiation and range
handling, and only changes how the answer is delivered: a file found in the table is sent from an
async iterator whose reads run in a worker thread; anything else goes on down the async chain.

Where the files come from is settings (streamus/settings.py): the finders in development and
tests, `collectstatic`'s hashed, compressed output in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

# Reads of this size keep a 1 MB bundle to a handful of thread hops without holding much memory.
CHUNK_BYTES = 256 * 1024


async def _read_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]], **kwargs: Any) -> None:
        if not iscoroutinefunction(get_response):
            raise TypeError("StaticFilesMiddleware runs under ASGI only (streamus.asgi:application)")
        super().__init__(get_response, **kwargs)
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:  # type: ignore[override]
        if self.autorefresh:
            # Development: look on disk every time (stat calls), so a rebuilt bundle shows at once.
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)  # type: ignore[no-any-return]
        found = static_file.get_response(request.method, request.META)
        body: AsyncIterator[bytes] | tuple[()] = _read_chunks(found.file) if found.file is not None else ()
        response = StreamingHttpResponse(body, status=int(found.status))
        del response["Content-Type"]
        for key, value in found.headers:
            response[key] = value
        return response
