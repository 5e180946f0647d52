"""The realtime protocol's names: every event a server sends and every message a client may send.

One list, here, for Python; `static/src/studio/events.js` is its twin for the browser; the mobile
app's names are in `mobile/src/studio/`. tests/studio/test_protocol.py checks that every server
event has a client handler and every client message a server route, and that the app names only
events and messages that exist, so they cannot drift.

Server → client, studio socket (ws/studio/<id>/)
    STATE_FULL           the whole studio, on connect and on state.request
    PARTICIPANT_*        someone joined / changed / left (partial dicts merge by id)
    SCENE_CHANGED        the scene and its graphs, after every change of what is on air
    STREAM_STATUS        scheduled → live → ended
    STREAM_UPDATED       the stream's settings changed outside the studio: clients ask for state.full
    CHAT_*               the private studio chat
    PLAYBACK_*           a clip playing into the show: progress once a second, ended, stopped
    DESTINATION_HEALTH   host only: a destination's state, bitrate, fps, reconnects, falling_behind
    PROGRAM_HEALTH       host only, once a second: the program's real-time factor, frame counters and
                         timings, and whether the show is falling behind (with the sentence to show)
    LIBRARY_CHANGED      host only: a clip is ready, renamed or gone, a playlist changed (the Media panel)
    UNMUTE_REQUESTED     host only: a guest the host muted asks to speak
    SESSION_ENDED        one guest: removed, revoked or expired; the server then closes (4410)
    ERROR, PONG          replies to the sender

Server → client, comment sockets (ws/streams/<id>/comments/) and the studio's comment panel
    COMMENT_*            created, updated, on screen, off screen, queued, author banned, batch
"""

from __future__ import annotations

# --- server → client ---------------------------------------------------------------------------
STATE_FULL = "state.full"
PARTICIPANT_JOINED = "participant.joined"
PARTICIPANT_UPDATED = "participant.updated"
PARTICIPANT_LEFT = "participant.left"
SCENE_CHANGED = "scene.changed"
STREAM_STATUS = "stream.status"
STREAM_UPDATED = "stream.updated"
CHAT_MESSAGE = "chat.message"
CHAT_DELETED = "chat.deleted"
PLAYBACK_PROGRESS = "playback.progress"
PLAYBACK_ENDED = "playback.ended"
PLAYBACK_STOPPED = "playback.stopped"
DESTINATION_HEALTH = "destination.health"
PROGRAM_HEALTH = "program.health"
LIBRARY_CHANGED = "library.changed"
UNMUTE_REQUESTED = "unmute.requested"
SESSION_ENDED = "session.ended"
ERROR = "error"
PONG = "pong"

COMMENT_CREATED = "comment.created"
COMMENT_UPDATED = "comment.updated"
COMMENT_ON_SCREEN = "comment.on_screen"
COMMENT_OFF_SCREEN = "comment.off_screen"
COMMENT_QUEUED = "comment.queued"
COMMENT_AUTHOR_BANNED = "comment.author_banned"
COMMENT_BATCH = "comment.batch"

# --- client → server (studio socket) --------------------------------------------------------------
AUTH = "auth"
PING = "ping"
STATE_REQUEST = "state.request"
CHAT_SEND = "chat.send"
CHAT_DELETE = "chat.delete"
SHARE_SET = "share.set"
SELF_MUTE = "self.mute"
UNMUTE_REQUEST = "unmute.request"
SCENE_SET = "scene.set"
GUEST_STAGE = "guest.stage"
GUEST_MUTE = "guest.mute"
GUEST_REMOVE = "guest.remove"
STREAM_GO_LIVE = "stream.go_live"
STREAM_END = "stream.end"
PLAYBACK_START = "playback.start"
PLAYBACK_STOP = "playback.stop"

# Roles in a studio.
HOST, MODERATOR, GUEST = "host", "moderator", "guest"

# Who receives which studio events (the consumer forwards group events by this table).
EVERYONE_RECEIVES = frozenset(
    {
        PARTICIPANT_JOINED,
        PARTICIPANT_UPDATED,
        PARTICIPANT_LEFT,
        SCENE_CHANGED,
        STREAM_STATUS,
        STREAM_UPDATED,
        CHAT_MESSAGE,
        CHAT_DELETED,
        # Guests see and hear the clip in their preview, so they follow its progress too.
        PLAYBACK_PROGRESS,
        PLAYBACK_ENDED,
        PLAYBACK_STOPPED,
    }
)
RECEIVES: dict[str, frozenset[str]] = {
    HOST: EVERYONE_RECEIVES | {DESTINATION_HEALTH, PROGRAM_HEALTH, UNMUTE_REQUESTED, LIBRARY_CHANGED},
    MODERATOR: EVERYONE_RECEIVES,
    GUEST: EVERYONE_RECEIVES,
}
# Sent to one socket only (replies and the end of a session), not through the role table.
DIRECT = frozenset({STATE_FULL, SESSION_ENDED, ERROR, PONG})
SERVER_EVENTS = EVERYONE_RECEIVES | RECEIVES[HOST] | DIRECT

EVERYONE_SENDS = frozenset({PING, STATE_REQUEST, CHAT_SEND, SHARE_SET})
SENDS: dict[str, frozenset[str]] = {
    HOST: EVERYONE_SENDS
    | {
        CHAT_DELETE,
        SCENE_SET,
        GUEST_STAGE,
        GUEST_MUTE,
        GUEST_REMOVE,
        STREAM_GO_LIVE,
        STREAM_END,
        PLAYBACK_START,
        PLAYBACK_STOP,
    },
    MODERATOR: EVERYONE_SENDS | {CHAT_DELETE, SELF_MUTE, UNMUTE_REQUEST},
    GUEST: EVERYONE_SENDS | {SELF_MUTE, UNMUTE_REQUEST},
}
CLIENT_MESSAGES = frozenset({AUTH}).union(*SENDS.values())

COMMENT_EVENTS = frozenset(
    {
        COMMENT_CREATED,
        COMMENT_UPDATED,
        COMMENT_ON_SCREEN,
        COMMENT_OFF_SCREEN,
        COMMENT_QUEUED,
        COMMENT_AUTHOR_BANNED,
        COMMENT_BATCH,
    }
)
