// The studio websocket's names: every event the server sends and every message a client may send.
// The twin of apps/core/events.py (tests/studio/test_protocol.py keeps the two, and the handlers, in step).

export const EVENTS = Object.freeze({
  STATE_FULL: "state.full",
  PARTICIPANT_JOINED: "participant.joined",
  PARTICIPANT_UPDATED: "participant.updated",
  PARTICIPANT_LEFT: "participant.left",
  SCENE_CHANGED: "scene.changed",
  STREAM_STATUS: "stream.status",
  STREAM_UPDATED: "stream.updated",
  CHAT_MESSAGE: "chat.message",
  CHAT_DELETED: "chat.deleted",
  PLAYBACK_PROGRESS: "playback.progress",
  PLAYBACK_ENDED: "playback.ended",
  PLAYBACK_STOPPED: "playback.stopped",
  DESTINATION_HEALTH: "destination.health",
  PROGRAM_HEALTH: "program.health",
  LIBRARY_CHANGED: "library.changed",
  UNMUTE_REQUESTED: "unmute.requested",
  SESSION_ENDED: "session.ended",
  ERROR: "error",
  PONG: "pong",
});

export const COMMENT_EVENTS = Object.freeze({
  COMMENT_CREATED: "comment.created",
  COMMENT_UPDATED: "comment.updated",
  COMMENT_ON_SCREEN: "comment.on_screen",
  COMMENT_OFF_SCREEN: "comment.off_screen",
  COMMENT_QUEUED: "comment.queued",
  COMMENT_AUTHOR_BANNED: "comment.author_banned",
  COMMENT_BATCH: "comment.batch",
});

export const MESSAGES = Object.freeze({
  AUTH: "auth",
  PING: "ping",
  STATE_REQUEST: "state.request",
  CHAT_SEND: "chat.send",
  CHAT_DELETE: "chat.delete",
  SHARE_SET: "share.set",
  SELF_MUTE: "self.mute",
  UNMUTE_REQUEST: "unmute.request",
  SCENE_SET: "scene.set",
  GUEST_STAGE: "guest.stage",
  GUEST_MUTE: "guest.mute",
  GUEST_REMOVE: "guest.remove",
  STREAM_GO_LIVE: "stream.go_live",
  STREAM_END: "stream.end",
  PLAYBACK_START: "playback.start",
  PLAYBACK_STOP: "playback.stop",
});
