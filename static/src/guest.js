// The guest page: green room (camera and microphone preview, device pickers,
// level meter), then backstage / on stage with the program preview, own mute,
// screen share and the private chat. Works on a phone-sized screen.
//
// The invite token is the last part of this page's address (/join/<token>/):
// it is read from there and sent in request bodies, never put in other URLs.
import "./studio.css";

import { Room, RoomEvent, Track, VideoPresets, createLocalTracks } from "livekit-client";

import {
  MediaSources,
  ProgramRenderer,
  StudioSocket,
  announce,
  connectionLabel,
  joinRoom,
  levelMeter,
  renderChat,
  toast,
} from "./studio/common.js";
import { startCommentsPanels } from "./studio/comments.js";
import { LocalRecording } from "./studio/local_recording.js";
import { EVENTS, MESSAGES } from "./studio/events.js";
import { newestScene } from "./studio/scene_order.js";
import { clipLayer } from "./studio/playback.js";

const root = document.getElementById("guest-app");
const $ = (id) => document.getElementById(id);
const inviteToken = location.pathname.split("/").filter(Boolean).pop() || "";

let tracks = { audio: null, video: null };
let stopMeter = () => {};
let room = null;
let socket = null;
let renderer = null;
let sources = null;
const state = { you: null, stream: null, chat: [], clipPlaying: false };
const RTC_RETRY_MS = 5000; // joining LiveKit again after a failure or a lost connection

// Phones cannot share their screen (no getDisplayMedia), and a touch-first device rarely wants to.
const canShareScreen =
  Boolean(navigator.mediaDevices?.getDisplayMedia) && !window.matchMedia("(pointer: coarse)").matches;

// This guest's own camera and microphone, recorded in this browser while live and on stage;
// uploaded through the guest endpoint (the invite seat in this browser's session), named by the server.
const localRecording = new LocalRecording({
  streamId: Number(root.dataset.streamId),
  createUrl: `/library/guest-uploads/${root.dataset.streamId}/`,
  tracks: () => [tracks.video?.mediaStreamTrack, tracks.audio?.mediaStreamTrack],
  indicators: [...root.querySelectorAll("[data-local-rec]")],
  onSettled: ({ ok }) => {
    if ($("ended").hidden || !$("ended-text").dataset.waitingUpload) return;
    delete $("ended-text").dataset.waitingUpload;
    $("ended-text").textContent = ok
      ? "Thanks for joining! Your recording is uploaded; you can close this page."
      : "Thanks for joining! Part of your recording could not be uploaded.";
  },
});

// --- green room -------------------------------------------------------------------------
function deviceError(text) {
  const box = $("device-error");
  box.hidden = !text;
  box.textContent = text || "";
}

async function fillDevices(select, kind, current) {
  const devices = await Room.getLocalDevices(kind, false);
  select.replaceChildren();
  for (const d of devices) {
    const option = document.createElement("option");
    option.value = d.deviceId;
    // Fake and virtual devices may be labelled with a file path: show its last part.
    option.textContent = (d.label || (kind === "videoinput" ? "Camera" : "Microphone")).split("/").pop();
    option.selected = d.deviceId === current;
    select.append(option);
  }
  if (!devices.length) {
    const option = document.createElement("option");
    option.textContent = kind === "videoinput" ? "No camera found" : "No microphone found";
    select.append(option);
  }
  select.disabled = devices.length < 1;
}

async function startPreview() {
  try {
    const local = await createLocalTracks({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { resolution: VideoPresets.h720.resolution },
    });
    tracks.audio = local.find((t) => t.kind === Track.Kind.Audio) || null;
    tracks.video = local.find((t) => t.kind === Track.Kind.Video) || null;
  } catch (error) {
    // No camera (or refused): try the microphone alone so the guest can still join by voice.
    try {
      const audioOnly = await createLocalTracks({ audio: true, video: false });
      tracks.audio = audioOnly[0] || null;
      deviceError("No camera available: you can join with your microphone only.");
    } catch {
      deviceError(
        error.name === "NotAllowedError"
          ? "Your browser blocked the camera and microphone. Allow them for this site (the camera icon in the address bar), then reload."
          : "No camera or microphone found. Connect one and reload this page.",
      );
      $("self-empty-text").textContent = "No camera";
      root.querySelector(".gr-preview .spinner")?.remove();
      return;
    }
  }
  if (tracks.video) {
    tracks.video.attach($("self-view"));
    $("self-empty").hidden = true;
  } else {
    $("self-empty-text").textContent = "Camera off";
    root.querySelector(".gr-preview .spinner")?.remove();
  }
  if (tracks.audio) stopMeter = levelMeter($("level-meter"), tracks.audio.mediaStreamTrack);
  await fillDevices($("camera-select"), "videoinput", tracks.video?.mediaStreamTrack.getSettings().deviceId);
  await fillDevices($("mic-select"), "audioinput", tracks.audio?.mediaStreamTrack.getSettings().deviceId);
  $("join-backstage").disabled = false;
}

$("camera-select").addEventListener("change", async (event) => {
  if (!tracks.video) return;
  await tracks.video.restartTrack({ deviceId: event.target.value, resolution: VideoPresets.h720.resolution });
});
$("mic-select").addEventListener("change", async (event) => {
  if (!tracks.audio) return;
  await tracks.audio.restartTrack({ deviceId: event.target.value });
  stopMeter();
  stopMeter = levelMeter($("level-meter"), tracks.audio.mediaStreamTrack);
});

function toggleTrack(button, track, onTitle, offTitle) {
  if (!track) return;
  const on = button.getAttribute("aria-pressed") === "true"; // pressed = on (green-room round buttons)
  if (on) track.mute();
  else track.unmute();
  button.setAttribute("aria-pressed", String(!on));
  button.title = on ? offTitle : onTitle;
}

$("gr-toggle-mic").addEventListener("click", (e) =>
  toggleTrack(e.currentTarget, tracks.audio, "Microphone on", "Microphone off"),
);
$("gr-toggle-cam").addEventListener("click", (e) => toggleTrack(e.currentTarget, tracks.video, "Camera on", "Camera off"));

// --- backstage --------------------------------------------------------------------------
$("join-backstage").addEventListener("click", async (event) => {
  event.currentTarget.disabled = true;
  event.currentTarget.textContent = "Joining…";
  $("green-room").hidden = true;
  $("backstage").hidden = false;
  $("share-screen").hidden = !canShareScreen;
  // Yourself, backstage and on stage alike: the camera you publish, as you publish it.
  if (tracks.video) tracks.video.attach($("backstage-self"));
  else $("backstage-self-box").hidden = true;
  sources = new MediaSources($("sources"));
  renderer = new ProgramRenderer($("program"), sources);
  socket = new StudioSocket(root.dataset.wsPath, {
    onMessage: handle,
    onStatus: (status) => {
      const badge = $("conn-state");
      badge.dataset.state = status;
      badge.textContent = connectionLabel(status);
    },
    onFatal: (code, text) => showEnded("You're no longer in the studio", code === 4410 ? `${text} Ask the host for a new link.` : text),
  });
  await connectMedia();
});

async function connectMedia() {
  try {
    const joined = await joinRoom({
      rtcPath: root.dataset.rtcPath,
      body: { token: inviteToken },
      sources,
      keepTracks: true, // the green room's camera and microphone are published again after a lost connection
      onLost: () => {
        room = null;
        window.setTimeout(connectMedia, RTC_RETRY_MS);
      },
    });
    room = joined.room;
    room.on(RoomEvent.LocalTrackUnpublished, (pub) => {
      if (pub.source === Track.Source.ScreenShare) stopShareUi(true);
    });
    if (tracks.audio) await room.localParticipant.publishTrack(tracks.audio, { source: Track.Source.Microphone });
    if (tracks.video) {
      await room.localParticipant.publishTrack(tracks.video, {
        source: Track.Source.Camera,
        simulcast: true,
        videoSimulcastLayers: [VideoPresets.h180, VideoPresets.h360],
      });
    }
    document.addEventListener("click", () => room?.startAudio(), { once: true });
  } catch (error) {
    toast(error.message || "Could not connect your camera to the studio.", "error");
    if (!error.status || error.status >= 500) window.setTimeout(connectMedia, RTC_RETRY_MS);
  }
}

function handle(msg) {
  switch (msg.type) {
    case EVENTS.STATE_FULL:
      // After a reconnect, say what the host changed while we were away (a mute, as it happens live).
      if (state.you && msg.you && state.you.id === msg.you.id) tellAboutHostMute(state.you, msg.you);
      state.you = msg.you;
      state.stream = msg.stream;
      state.chat = msg.chat || [];
      setScene(msg);
      renderChat($("chat-list"), state.chat);
      renderMe();
      renderStatus();
      break;
    case EVENTS.PARTICIPANT_JOINED:
    case EVENTS.PARTICIPANT_UPDATED:
      if (state.you && msg.participant.id === state.you.id) {
        const before = state.you;
        state.you = { ...state.you, ...msg.participant };
        tellAboutHostMute(before, state.you);
        renderMe();
      }
      break;
    case EVENTS.PARTICIPANT_LEFT:
      // This page lists nobody else; its own end arrives as session.ended.
      break;
    case EVENTS.SCENE_CHANGED:
      setScene(msg);
      break;
    case EVENTS.STREAM_STATUS:
      state.stream = { ...state.stream, ...msg.stream };
      renderStatus();
      break;
    case EVENTS.CHAT_MESSAGE:
      // A reconnect can replay a line in state.full that then also arrives live.
      if (state.chat.some((m) => m.id === msg.message.id)) break;
      state.chat.push(msg.message);
      renderChat($("chat-list"), state.chat);
      break;
    case EVENTS.CHAT_DELETED:
      state.chat = state.chat.filter((m) => m.id !== msg.message.id);
      renderChat($("chat-list"), state.chat);
      break;
    case EVENTS.STREAM_UPDATED:
      socket.send({ type: MESSAGES.STATE_REQUEST });
      break;
    case EVENTS.PLAYBACK_PROGRESS:
      // The clip is in the scene (its "clip" layer); the preview keeps time by the program's clock.
      break;
    case EVENTS.PLAYBACK_ENDED:
    case EVENTS.PLAYBACK_STOPPED:
      state.clipPlaying = false;
      renderMe();
      break;
    case EVENTS.SESSION_ENDED:
      showEnded("You're no longer in the studio", msg.reason);
      break;
    case EVENTS.ERROR:
      toast(msg.message, "error");
      break;
    default:
      break;
  }
}

function setScene(msg) {
  if (!newestScene(state, msg)) return; // a late scene, older than the one shown
  renderer.setScene(msg.scene_graph, msg.assets);
  // A full-screen clip replaces the people on air; as a layer, they stay on air beside it.
  const clip = clipLayer(msg.scene_graph);
  state.clipPlaying = Boolean(clip && clip.playback?.mode !== "layer");
  renderMe();
}

// The host turned our microphone or camera off: say so, on screen and to screen readers.
function tellAboutHostMute(before, now) {
  const said = [];
  if (before.audio && !now.audio && now.audio_locked) said.push("The host muted your microphone.");
  if (before.video && !now.video && now.video_locked) said.push("The host turned off your camera.");
  if (!before.audio && now.audio && before.audio_locked) said.push("The host unmuted your microphone.");
  if (!before.video && now.video && before.video_locked) said.push("The host turned your camera back on.");
  for (const text of said) {
    toast(text, "info");
    announce(text);
  }
}

function renderMe() {
  const me = state.you;
  if (!me) return;
  const badge = $("stage-badge");
  badge.textContent = me.on_stage ? "On stage" : "Backstage";
  badge.classList.toggle("is-on-stage", Boolean(me.on_stage));
  $("stage-text").textContent = me.on_stage
    ? state.clipPlaying
      ? "A clip is playing to the audience; you're back on air when it ends."
      : state.stream?.status === "live"
        ? "You're on stage and live. Everyone watching sees and hears you."
        : "You're on stage. The audience sees you once the host goes live."
    : "You're backstage. The host will bring you on stage.";
  setPressed($("mute-mic"), !me.audio, me.audio ? "Mute" : me.audio_locked ? "Ask to unmute" : "Unmute");
  setPressed($("mute-cam"), !me.video, me.video ? "Stop video" : me.video_locked ? "Ask for video" : "Start video");
  // The host may mute us: follow the server's flags on the local tracks too.
  if (tracks.audio && tracks.audio.isMuted === me.audio) me.audio ? tracks.audio.unmute() : tracks.audio.mute();
  if (tracks.video && tracks.video.isMuted === me.video) me.video ? tracks.video.unmute() : tracks.video.mute();
  localRecording.setEnabled("audio", Boolean(me.audio));
  localRecording.setEnabled("video", Boolean(me.video));
  localRecording.want(state.stream?.status === "live" && Boolean(me.on_stage));
}

function setPressed(button, pressed, label) {
  button.setAttribute("aria-pressed", String(pressed));
  button.querySelector("span").textContent = label;
}

function renderStatus() {
  const status = state.stream?.status;
  $("onair").hidden = status !== "live";
  if (status === "ended") showEnded("The show has ended", "Thanks for joining! You can close this page.");
  else renderMe();
}

// Muting is always ours; undoing a host's mute is the host's: we can only ask.
function askOrToggle(kind) {
  const me = state.you;
  if (!me) return;
  if (!me[kind] && me[`${kind}_locked`]) {
    if (socket.send({ type: MESSAGES.UNMUTE_REQUEST })) toast("The host has been asked to unmute you.", "info");
    return;
  }
  socket.send({ type: MESSAGES.SELF_MUTE, [kind]: !me[kind] });
}
$("mute-mic").addEventListener("click", () => askOrToggle("audio"));
$("mute-cam").addEventListener("click", () => askOrToggle("video"));

function stopShareUi(tellServer) {
  setPressed($("share-screen"), false, "Share screen");
  if (tellServer) socket?.send({ type: MESSAGES.SHARE_SET, on: false });
}

$("share-screen").addEventListener("click", async (event) => {
  if (!room) return;
  const sharing = event.currentTarget.getAttribute("aria-pressed") === "true";
  try {
    await room.localParticipant.setScreenShareEnabled(!sharing, { audio: false });
    if (sharing) stopShareUi(true);
    else {
      setPressed($("share-screen"), true, "Stop sharing");
      socket.send({ type: MESSAGES.SHARE_SET, on: true });
    }
  } catch (error) {
    toast(error.name === "NotAllowedError" ? "Screen sharing was cancelled." : error.message, "warning");
  }
});

// Leaving is one click away from the mute button: ask first.
$("leave").addEventListener("click", () => {
  const dialog = $("leave-dialog");
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "leave") showEnded("You left the studio", "Open your invite link again to rejoin.");
    },
    { once: true },
  );
  dialog.showModal();
});

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (text && socket?.send({ type: MESSAGES.CHAT_SEND, text })) input.value = "";
});

function showEnded(title, text) {
  localRecording.want(false); // finishes the file; its last chunks go out while this page stays open
  socket?.close();
  room?.disconnect();
  stopMeter();
  for (const t of Object.values(tracks)) t?.stop();
  $("green-room").hidden = true;
  $("backstage").hidden = true;
  $("ended").hidden = false;
  $("ended-title").textContent = title;
  $("ended-text").textContent = text || "";
  if (localRecording.busy) {
    const now = (text || "").replace(" You can close this page.", "");
    $("ended-text").textContent = `${now} Keep this page open until your recording has finished uploading.`.trim();
    $("ended-text").dataset.waitingUpload = "1";
  }
}

startPreview();

// The audience comments panel, live over its own socket (host; a moderator on the guest page).
startCommentsPanels();
