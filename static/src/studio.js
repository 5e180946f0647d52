// The host's studio: live preview of the program, people on stage and
// backstage, layouts and overlays, destinations' health, go live / end, chat.
// State comes from the studio websocket (apps/streams/consumers.py documents
// the protocol); media from LiveKit.
import "./studio.css";

import { RoomEvent, Track, VideoPresets } from "livekit-client";

import {
  MediaSources,
  ProgramRenderer,
  StudioSocket,
  connectionLabel,
  el,
  formatClock,
  icon,
  joinRoom,
  renderChat,
  toast,
} from "./studio/common.js";
import { startCommentsPanels } from "./studio/comments.js";
import { LocalRecording } from "./studio/local_recording.js";
import { PlaybackPanel } from "./studio/playback.js";

const root = document.getElementById("studio-app");
const $ = (id) => document.getElementById(id);
const LAYOUT_KEYS = [...root.querySelectorAll("[data-layout]")].map((b) => b.dataset.layout);
const SPARK_POINTS = 60; // one health sample a second: the last minute
const RTC_RETRY_MS = 5000;

const state = {
  role: null,
  you: null,
  stream: null,
  participants: new Map(),
  scene: {},
  graph: null,
  assets: {},
  destinations: new Map(),
  health: new Map(), // destination id → {samples: [kbps…], last: {...}}
  chat: [],
};

const sources = new MediaSources($("sources"));
const renderer = new ProgramRenderer($("program"), sources);
let room = null;

// The host's own camera and microphone, recorded in this browser while live and on stage.
const localRecording = new LocalRecording({
  streamId: Number(root.dataset.streamId),
  tracks: () =>
    [Track.Source.Camera, Track.Source.Microphone].map(
      (source) => room?.localParticipant.getTrackPublication(source)?.track?.mediaStreamTrack,
    ),
  indicators: [$("local-rec")],
});

function syncLocalRecording() {
  const me = state.you && state.participants.get(state.you.id);
  if (me && !localRecording.title) localRecording.title = `${me.name} (local)`;
  localRecording.want(state.stream?.status === "live" && Boolean(me?.on_stage) && Boolean(room));
}

// --- websocket -----------------------------------------------------------------------
const socket = new StudioSocket(root.dataset.wsPath, {
  onMessage: handle,
  onStatus: (status) => {
    const badge = $("conn-state");
    badge.dataset.state = status;
    badge.textContent = connectionLabel(status);
  },
  onFatal: (_code, text) => toast(text, "error"),
});

// The Media panel: library clips and playlists played into the show (its preview is the renderer's "clip" layer).
const playbackPanel = $("media-panel") ? new PlaybackPanel($("media-panel"), (message) => socket.send(message)) : null;

function handle(msg) {
  switch (msg.type) {
    case "playback.progress":
      playbackPanel?.setProgress(msg.playback);
      break;
    case "playback.ended":
    case "playback.stopped":
      playbackPanel?.ended(msg.playback);
      break;
    case "state.full":
      state.role = msg.role;
      state.you = msg.you;
      state.stream = msg.stream;
      state.participants = new Map(msg.participants.map((p) => [p.id, p]));
      state.chat = msg.chat || [];
      for (const d of msg.destinations || []) {
        state.destinations.set(d.id, d);
        if (d.health && Object.keys(d.health).length) recordHealth(d.id, d.health);
      }
      setScene(msg);
      if (msg.playback_progress) playbackPanel?.setProgress(msg.playback_progress);
      renderAll();
      syncLocalRecording();
      break;
    case "participant.joined":
    case "participant.updated": {
      const before = state.participants.get(msg.participant.id);
      const merged = { ...(before || {}), ...msg.participant };
      state.participants.set(merged.id, merged);
      if (merged.id === state.you?.id) syncLocalRecording();
      if (msg.type === "participant.joined" && merged.role !== "host" && !before?.online) {
        toast(`${merged.name} joined backstage.`, "info");
      }
      renderPeople();
      break;
    }
    case "participant.left":
      state.participants.delete(msg.participant.id);
      renderPeople();
      break;
    case "scene.changed":
      setScene(msg);
      renderSceneControls();
      break;
    case "stream.status":
      state.stream = { ...state.stream, ...msg.stream };
      renderStatus();
      syncLocalRecording();
      break;
    case "chat.message":
      // A reconnect can replay a line in state.full that then also arrives live.
      if (state.chat.some((m) => m.id === msg.message.id)) break;
      state.chat.push(msg.message);
      renderChat($("chat-list"), state.chat);
      break;
    case "chat.deleted":
      state.chat = state.chat.filter((m) => m.id !== msg.message.id);
      renderChat($("chat-list"), state.chat);
      break;
    case "destination.health":
      recordHealth(msg.destination.id, msg.destination);
      renderDestination(msg.destination.id);
      break;
    case "error":
      toast(msg.message, "error");
      break;
    default:
      break;
  }
}

function setScene(msg) {
  state.scene = msg.scene || {};
  state.graph = msg.scene_graph || null;
  if (msg.assets) state.assets = msg.assets;
  renderer.setScene(state.graph, state.assets);
  playbackPanel?.setPlayback(state.scene.playback || null);
}

function renderAll() {
  renderStatus();
  renderPeople();
  renderSceneControls();
  renderChat($("chat-list"), state.chat);
  for (const id of state.destinations.keys()) renderDestination(id);
}

// --- status, go live, on-air clock ----------------------------------------------------
let clockTimer = null;

function renderStatus() {
  const s = state.stream;
  if (!s) return;
  const badge = $("stream-status");
  badge.className = `badge badge-${s.status}`;
  badge.textContent = { scheduled: "Scheduled", live: "Live", ended: "Ended" }[s.status] || s.status;
  $("go-live").hidden = s.status !== "scheduled";
  $("end-show").hidden = s.status !== "live";
  $("onair").hidden = s.status !== "live";
  const clock = $("onair-clock");
  window.clearInterval(clockTimer);
  if (s.status === "live" && s.started_at) {
    const started = Date.parse(s.started_at);
    const tick = () => {
      clock.textContent = formatClock(Date.now() - started);
    };
    tick();
    clock.hidden = false;
    clockTimer = window.setInterval(tick, 1000);
  } else {
    clock.hidden = true;
  }
  if (s.status === "ended") {
    root.classList.add("is-ended");
    const note = $("preview-note");
    note.hidden = false;
    note.replaceChildren(
      "The show has ended. The recording appears in ",
      el("a", { href: "/recordings/", text: "your recordings" }),
      " when it is ready.",
    );
  }
}

function confirmAction({ title, text, ok, onConfirm }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "ok") onConfirm();
    },
    { once: true },
  );
  dialog.showModal();
}

function askGoLive() {
  if (state.stream?.status !== "scheduled") return;
  const count = state.destinations.size;
  confirmAction({
    title: "Go live now?",
    text: count
      ? `The show starts on ${count} destination${count === 1 ? "" : "s"} and is recorded.`
      : "No destinations yet: the show is recorded only.",
    ok: "Go live",
    onConfirm: () => socket.send({ type: "stream.go_live" }),
  });
}

$("go-live").addEventListener("click", askGoLive);
$("end-show").addEventListener("click", () =>
  confirmAction({
    title: "End the show?",
    text: "Every destination stops and the recording is finalised. This cannot be undone.",
    ok: "End show",
    onConfirm: () => socket.send({ type: "stream.end" }),
  }),
);

// --- people ----------------------------------------------------------------------------
function personRow(p) {
  const actions = el("div", { className: "st-person-actions" });
  const add = (name, label, handler, extra = {}) => {
    const button = el("button", { type: "button", className: "st-icon-btn", title: label, "aria-label": label, ...extra }, icon(name));
    button.addEventListener("click", handler);
    actions.append(button);
    return button;
  };
  if (p.role === "host") {
    add(p.on_stage ? "s-down" : "s-up", p.on_stage ? "Step off stage" : "Join the stage", () =>
      socket.send({ type: "scene.set", host_on_stage: !p.on_stage }),
    );
  } else {
    add(
      p.on_stage ? "s-down" : "s-up",
      p.on_stage ? `Send ${p.name} backstage` : `Bring ${p.name} on stage`,
      () => socket.send({ type: "guest.stage", guest: p.guest_id, on_stage: !p.on_stage }),
      { className: p.on_stage ? "st-icon-btn" : "st-icon-btn is-primary", "data-action": "stage" },
    );
    add(p.audio ? "s-mic" : "s-mic-off", p.audio ? `Mute ${p.name}` : `Unmute ${p.name}`, () =>
      socket.send({ type: "guest.mute", guest: p.guest_id, audio: !p.audio }),
    ).setAttribute("aria-pressed", String(!p.audio));
    add(p.video ? "s-cam" : "s-cam-off", p.video ? `Hide ${p.name}'s video` : `Show ${p.name}'s video`, () =>
      socket.send({ type: "guest.mute", guest: p.guest_id, video: !p.video }),
    ).setAttribute("aria-pressed", String(!p.video));
    add("s-user-x", `Remove ${p.name}`, () =>
      confirmAction({
        title: `Remove ${p.name}?`,
        text: "They leave the studio and their invite link stops working.",
        ok: "Remove",
        onConfirm: () => socket.send({ type: "guest.remove", guest: p.guest_id }),
      }),
    );
  }
  const meta = [p.role === "host" ? "You (host)" : p.role === "moderator" ? "Moderator" : "Guest"];
  if (p.online === false) meta.push("not connected");
  if (!p.audio) meta.push("muted");
  if (!p.video) meta.push("video off");
  return el(
    "li",
    { className: "st-person", "data-participant": p.id, "data-online": String(p.online !== false) },
    el("span", { className: "st-avatar", "aria-hidden": "true", text: (p.name || "?").charAt(0).toUpperCase() }),
    el(
      "div",
      { className: "st-person-main" },
      el("div", { className: "st-person-name", text: p.name }),
      el("div", { className: "st-person-meta", text: meta.join(" · ") }),
    ),
    actions,
  );
}

function renderPeople() {
  const people = [...state.participants.values()];
  const onStage = people.filter((p) => p.on_stage);
  const backstage = people.filter((p) => !p.on_stage);
  $("on-stage").replaceChildren(...onStage.map(personRow));
  $("backstage").replaceChildren(...backstage.map(personRow));
  $("stage-count").textContent = String(onStage.length);
  $("backstage-count").textContent = String(backstage.length);
  $("backstage-empty").hidden = backstage.length > 0 || people.length > 1;
}

// --- layouts and overlays ----------------------------------------------------------------
function renderSceneControls() {
  const layout = state.scene.layout;
  for (const button of root.querySelectorAll("[data-layout]")) {
    button.setAttribute("aria-checked", String(button.dataset.layout === layout));
  }
  const overlays = state.scene.overlays || {};
  for (const button of root.querySelectorAll("[data-overlay]")) {
    button.setAttribute("aria-pressed", String(Boolean(overlays[button.dataset.overlay])));
  }
  const banner = $("banner-text");
  if (document.activeElement !== banner) banner.value = state.scene.banner_text || "";
  const note = $("preview-note");
  if (state.graph && state.graph.layout !== state.graph.requested_layout && state.stream?.status !== "ended") {
    note.hidden = false;
    note.textContent = `${state.graph.requested_layout.replaceAll("_", " ")} does not fit who is on stage; showing the ${state.graph.layout.replaceAll("_", " ")} layout.`;
  } else if (state.stream?.status !== "ended") {
    note.hidden = true;
  }
}

function setLayout(layout) {
  if (layout && layout !== state.scene.layout) socket.send({ type: "scene.set", layout });
}

root.querySelectorAll("[data-layout]").forEach((button) =>
  button.addEventListener("click", () => setLayout(button.dataset.layout)),
);
root.querySelectorAll("[data-overlay]").forEach((button) =>
  button.addEventListener("click", () => {
    const name = button.dataset.overlay;
    const on = !(state.scene.overlays || {})[name];
    const message = { type: "scene.set", overlays: { [name]: on } };
    // A banner needs words: the show's title until the host types something else.
    if (name === "banner" && on && !state.scene.banner_text) message.banner_text = state.stream?.title || "";
    socket.send(message);
  }),
);
$("banner-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("banner-text").value.trim();
  socket.send({ type: "scene.set", banner_text: text, overlays: { banner: Boolean(text) } });
});

// --- destinations and their health --------------------------------------------------------
function recordHealth(id, sample) {
  const entry = state.health.get(id) || { samples: [], last: {} };
  if (typeof sample.bitrate_kbps === "number") {
    entry.samples.push(sample.bitrate_kbps);
    if (entry.samples.length > SPARK_POINTS) entry.samples.shift();
  }
  entry.last = sample;
  state.health.set(id, entry);
}

function renderDestination(id) {
  const row = $(`dest-${id}`);
  const entry = state.health.get(id);
  if (!row || !entry) return;
  const h = entry.last;
  const badge = row.querySelector(".st-dest-state");
  if (h.state) {
    badge.dataset.state = h.state;
    badge.textContent = h.state.replaceAll("_", " ");
  }
  const kbps = typeof h.bitrate_kbps === "number" ? Math.round(h.bitrate_kbps) : null;
  row.querySelector(".st-dest-bitrate").textContent = kbps === null ? "— kbps" : `${kbps} kbps`;
  const reconnects = h.reconnects ?? h.reconnect_count ?? 0;
  row.querySelector(".st-dest-reconnects").textContent = `${reconnects} reconnect${reconnects === 1 ? "" : "s"}`;
  const error = row.querySelector(".st-dest-error");
  error.hidden = !h.last_error;
  error.textContent = h.last_error || "";
  drawSparkline(row.querySelector(".st-spark"), entry.samples);
}

function drawSparkline(canvas, samples) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (samples.length < 2) return;
  const max = Math.max(...samples, 1);
  const step = width / (SPARK_POINTS - 1);
  const x0 = width - (samples.length - 1) * step;
  ctx.beginPath();
  samples.forEach((v, i) => {
    const x = x0 + i * step;
    const y = height - 2 - (v / max) * (height - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = "#2fd08a";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineTo(width, height);
  ctx.lineTo(x0, height);
  ctx.closePath();
  ctx.fillStyle = "rgb(47 208 138 / 15%)";
  ctx.fill();
}

// --- chat -------------------------------------------------------------------------------
$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (text && socket.send({ type: "chat.send", text })) input.value = "";
});

// --- keyboard shortcuts: 1–6 layouts, L go live ------------------------------------------
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable], dialog")) return;
  const index = Number.parseInt(event.key, 10);
  if (index >= 1 && index <= LAYOUT_KEYS.length) {
    event.preventDefault();
    setLayout(LAYOUT_KEYS[index - 1]);
  } else if (event.key === "l" || event.key === "L") {
    event.preventDefault();
    askGoLive();
  }
});

// --- my camera, microphone and screen (LiveKit) -----------------------------------------
function mediaState(text) {
  $("media-state").textContent = text;
}

async function startMedia() {
  try {
    mediaState("Connecting camera…");
    const joined = await joinRoom({
      rtcPath: root.dataset.rtcPath,
      sources,
      // `room` is still null on the first connect; set on a later reconnect, when the tracks are already up.
      onState: (s) =>
        mediaState(
          s === "connected" ? (room ? "Camera and microphone on" : "Starting camera and microphone…") : `Media ${s}…`,
        ),
    });
    room = joined.room;
    room.on(RoomEvent.LocalTrackUnpublished, (pub) => {
      // The browser's own "Stop sharing" bar ends a share without our button.
      const button = $("share-screen");
      if (pub.source === Track.Source.ScreenShare && button.getAttribute("aria-pressed") === "true") {
        button.setAttribute("aria-pressed", "false");
        button.querySelector("span").textContent = "Share screen";
        socket.send({ type: "share.set", on: false });
      }
    });
    await room.localParticipant.setMicrophoneEnabled(true);
    await room.localParticipant.setCameraEnabled(
      true,
      { resolution: VideoPresets.h720.resolution },
      { simulcast: true, videoSimulcastLayers: [VideoPresets.h180, VideoPresets.h360] },
    );
    const camera = room.localParticipant.getTrackPublication(Track.Source.Camera)?.track;
    if (camera) camera.attach($("self-view"));
    mediaState("Camera and microphone on");
    syncLocalRecording(); // a show already live when the camera came up
  } catch (error) {
    room = null;
    mediaState(error.message || "Camera unavailable");
    if (!error.status || error.status >= 500) window.setTimeout(startMedia, RTC_RETRY_MS);
  }
}

async function toggle(button, source, labels) {
  if (!room) return;
  const on = button.getAttribute("aria-pressed") === "true"; // pressed = muted / off
  try {
    if (source === Track.Source.Microphone) await room.localParticipant.setMicrophoneEnabled(on);
    else await room.localParticipant.setCameraEnabled(on);
    button.setAttribute("aria-pressed", String(!on));
    button.querySelector("span").textContent = on ? labels[0] : labels[1];
    localRecording.setEnabled(source === Track.Source.Microphone ? "audio" : "video", on);
    if (source === Track.Source.Microphone) socket.send({ type: "scene.set", host_muted: !on });
  } catch (error) {
    toast(error.message, "error");
  }
}

$("mute-mic").addEventListener("click", (e) => toggle(e.currentTarget, Track.Source.Microphone, ["Mute", "Unmute"]));
$("mute-cam").addEventListener("click", (e) => toggle(e.currentTarget, Track.Source.Camera, ["Stop video", "Start video"]));
$("share-screen").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  if (!room) {
    toast("Your camera is still connecting to the studio; try again in a moment.", "info");
    return;
  }
  const sharing = button.getAttribute("aria-pressed") === "true";
  try {
    await room.localParticipant.setScreenShareEnabled(!sharing, { audio: false });
    button.setAttribute("aria-pressed", String(!sharing));
    button.querySelector("span").textContent = sharing ? "Share screen" : "Stop sharing";
    socket.send({ type: "share.set", on: !sharing });
  } catch (error) {
    toast(error.name === "NotAllowedError" ? "Screen sharing was cancelled." : error.message, "warning");
  }
});

// The browser only plays remote audio after a gesture; the first click anywhere starts it.
document.addEventListener("click", () => room?.startAudio(), { once: true });

startMedia();

// The audience comments panel, live over its own socket (host; a moderator on the guest page).
startCommentsPanels();
