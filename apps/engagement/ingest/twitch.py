"""Twitch chat over IRC-on-WebSocket (wss://irc-ws.chat.twitch.tv).

Handshake: `CAP REQ :twitch.tv/tags twitch.tv/commands`, `PASS oauth:<token>`,
`NICK <login>`, `JOIN #<channel>`. With no token we log in anonymously
(`justinfanNNNN`), which Twitch allows for reading. We answer `PING` with
`PONG`, reconnect on `RECONNECT` without backoff, treat a login `NOTICE` as an
auth failure, and read `PRIVMSG` lines with their IRCv3 tags (`id`,
`display-name`, `user-id`, `tmi-sent-ts`).

Reference: https://dev.twitch.tv/docs/chat/irc/ and https://ircv3.net/specs/extensions/message-tags
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from apps.engagement.ingest.base import AuthFailed, ChatSource, IncomingComment, Sink, TransientError

_TAG_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
# How long one step waits for a frame before reporting "no work" (the loop checks for stop in between).
RECV_TIMEOUT_SECONDS = 1.0
LOGIN_FAILURES = ("Login authentication failed", "Improperly formatted auth", "Login unsuccessful")


@dataclass(frozen=True)
class IrcMessage:
    tags: dict[str, str]
    prefix: str
    command: str
    params: list[str]

    @property
    def trailing(self) -> str:
        return self.params[-1] if self.params else ""

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0]


def unescape_tag(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(_TAG_ESCAPES.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


def parse_line(line: str) -> IrcMessage | None:
    """One IRC line (`@tags :prefix COMMAND params :trailing`) → IrcMessage; None for an empty line."""
    line = line.rstrip("\r\n")
    if not line:
        return None
    tags: dict[str, str] = {}
    if line.startswith("@"):
        raw_tags, _, line = line[1:].partition(" ")
        for pair in raw_tags.split(";"):
            key, _, value = pair.partition("=")
            tags[key] = unescape_tag(value)
    prefix = ""
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    trailing = None
    if " :" in line:
        line, _, trailing = line.partition(" :")
    elif line.startswith(":"):
        line, trailing = "", line[1:]
    words = line.split()
    if not words:
        return None
    params = words[1:] + ([trailing] if trailing is not None else [])
    return IrcMessage(tags=tags, prefix=prefix, command=words[0].upper(), params=params)


def privmsg_to_comment(msg: IrcMessage) -> IncomingComment | None:
    msg_id = msg.tags.get("id")
    if not msg_id:
        return None
    text = msg.trailing
    if text.startswith("\x01ACTION ") and text.endswith("\x01"):  # "/me waves"
        text = text[8:-1]
    sent_at = None
    if msg.tags.get("tmi-sent-ts", "").isdigit():
        sent_at = datetime.fromtimestamp(int(msg.tags["tmi-sent-ts"]) / 1000, UTC)
    return IncomingComment(
        platform="twitch",
        message_id=msg_id,
        author_name=msg.tags.get("display-name") or msg.nick,
        author_id=msg.tags.get("user-id", ""),
        text=text,
        sent_at=sent_at,
    )


class TwitchChatClient(ChatSource):
    platform = "twitch"

    def __init__(
        self,
        *,
        sink: Sink,
        channel: str,
        url: str,
        access_token: str | Callable[[], str] = "",
        nick: str = "",
        clock: Callable[[], float] = time.monotonic,
        recv_timeout: float = RECV_TIMEOUT_SECONDS,
        open_timeout: float = 10.0,
        on_delete: Callable[[str, str], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__(sink=sink, clock=clock)
        self.channel = channel.lstrip("#").lower()
        self.url = url
        self._token = access_token
        self.nick = nick.lower()
        self.recv_timeout = recv_timeout
        self.open_timeout = open_timeout
        self.connections = 0
        self.pongs_sent = 0
        self.deleted_ids: list[str] = []
        self.on_delete = on_delete
        self._ws: ClientConnection | None = None

    def _access_token(self) -> str:
        return self._token() if callable(self._token) else self._token

    async def _connect(self) -> ClientConnection:
        ws = await connect(self.url, open_timeout=self.open_timeout, max_size=2**20)
        token = self._access_token()
        if token:
            nick, password = self.nick or self.channel, f"oauth:{token.removeprefix('oauth:')}"
        else:
            # Anonymous read-only login that Twitch accepts for any justinfan<digits> nick.
            nick, password = f"justinfan{random.randint(10000, 99999)}", "SCHMOOPIIE"
        await ws.send("CAP REQ :twitch.tv/tags twitch.tv/commands")
        await ws.send(f"PASS {password}")
        await ws.send(f"NICK {nick}")
        await ws.send(f"JOIN #{self.channel}")
        self.connections += 1
        return ws

    async def close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            await ws.close()

    async def step(self) -> bool:
        if self._ws is None:
            self._ws = await self._connect()
            return True
        try:
            # Cancelling recv() is safe in websockets: no frame is lost.
            frame = await asyncio.wait_for(self._ws.recv(), timeout=self.recv_timeout)
        except TimeoutError:
            return False
        if isinstance(frame, bytes):
            frame = frame.decode("utf-8", "replace")
        for line in frame.split("\r\n"):
            msg = parse_line(line)
            if msg is not None:
                await self._handle(msg)
        return True

    async def _handle(self, msg: IrcMessage) -> None:
        if msg.command == "PING":
            assert self._ws is not None
            await self._ws.send(f"PONG :{msg.trailing or 'tmi.twitch.tv'}")
            self.pongs_sent += 1
        elif msg.command == "PRIVMSG":
            comment = privmsg_to_comment(msg)
            if comment is not None:
                await self.deliver(comment)
        elif msg.command == "RECONNECT":
            raise TransientError("Twitch asked us to reconnect", immediate=True)
        elif msg.command == "NOTICE" and any(text in msg.trailing for text in LOGIN_FAILURES):
            raise AuthFailed(msg.trailing)
        elif msg.command == "CLEARMSG" and msg.tags.get("target-msg-id"):
            # A Twitch moderator deleted a message: hide our copy too.
            self.deleted_ids.append(msg.tags["target-msg-id"])
            if self.on_delete is not None:
                await self.on_delete(self.platform, msg.tags["target-msg-id"])

    def state(self) -> dict[str, Any]:
        return {}
