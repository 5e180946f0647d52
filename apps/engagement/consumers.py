"""Live comment feed for the moderation panel: ws/streams/<stream_id>/comments/.

Host (owner, by login) and moderators (invite seat in the session, or linked to
their account) receive every `comment.*` event of the stream, hidden and pending
comments included; anyone else is closed with 4403 (4404 if the stream does not
exist). Moderation actions go through the HTTP views, which call the services;
this socket only listens.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.engagement import realtime
from apps.engagement.access import can_moderate
from apps.streams.models import Stream


class ModerationConsumer(AsyncJsonWebsocketConsumer):
    stream_id: int
    group: str = ""

    async def connect(self) -> None:
        self.stream_id = int(self.scope["url_route"]["kwargs"]["stream_id"])
        code = await database_sync_to_async(self._authorise)()
        if code:
            # Accept then close, so the client sees our close code instead of a failed handshake.
            await self.accept()
            await self.close(code=code)
            return
        self.group = realtime.stream_group(self.stream_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    def _authorise(self) -> int:
        stream = Stream.objects.filter(pk=self.stream_id).first()
        if stream is None:
            return 4404
        if not can_moderate(self.scope.get("user"), self.scope.get("session"), stream):
            return 4403
        return 0

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Every comment.* event is forwarded as is; anything else on the group is not ours to relay.
        if str(message.get("type", "")).startswith("comment."):
            await self.send_json(message)
            return
        await super().dispatch(message)
