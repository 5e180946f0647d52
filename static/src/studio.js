// The host's studio: live preview of the program, people on stage and
// backstage, layouts and overlays, destinations' health, go live / end, chat.
// State comes from the studio websocket (apps/studio/consumers.py; the names are
// studio/events.js); media from LiveKit.
import "./studio.css";

import { RoomEvent, Track, VideoPresets, VideoQuality } from "livekit-client";

import {
  MediaSources,
  ProgramRenderer,
  StudioSocket,
  announce,
  connectionLabel,
  el,
  formatClock,
  icon,
  joinRoom,
  renderChat,
  toast,
} from "./studio/common.js";
import { startCommentsPanels } from "./studio/comments.js";
import { EVENTS, MESSAGES } from "./studio/events.js";
import { newestScene } from "./studio/scene_order.js";
import { graphPositions, LayoutEditor } from "./studio/layout_editor.js";
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

// Custom positions by hand, over the preview; every move goes out as a scene.set (the one path).
const editor = new LayoutEditor({
  wrap: $("preview-wrap"),
  renderer,
  send: (changes) => socket.send({ type: MESSAGES.SCENE_SET, ...changes }),
  names: (id) => state.participants.get(id)?.name || null,
  announce,
  keepRatio: $("keep-ratio"),
});

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
    case EVENTS.PLAYBACK_PROGRESS:
      playbackPanel?.setProgress(msg.playback);
      break;
    case EVENTS.PLAYBACK_ENDED:
    case EVENTS.PLAYBACK_STOPPED:
      playbackPanel?.ended(msg.playback);
      break;
    case EVENTS.STATE_FULL:
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
    case EVENTS.PARTICIPANT_JOINED:
    case EVENTS.PARTICIPANT_UPDATED: {
      const before = state.participants.get(msg.participant.id);
      if (!before && !msg.participant.role) {
        // Part of someone this page does not know (a LiveKit presence, a socket closing): never a
        // nameless row. Ask for the whole truth instead.
        requestState();
        break;
      }
      const merged = { ...(before || {}), ...msg.participant };
      state.participants.set(merged.id, merged);
      if (merged.id === state.you?.id) syncLocalRecording();
      if (msg.type === EVENTS.PARTICIPANT_JOINED && merged.role !== "host" && before?.online !== true && msg.participant.online) {
        toast(`${merged.name} joined backstage.`, "info");
        announce(`${merged.name} joined backstage.`);
      }
      if (before && merged.role !== "host" && before.audio && merged.audio === false) {
        announce(`${merged.name} is muted.`);
      }
      renderPeople();
      renderLayoutOptions();
      break;
    }
    case EVENTS.PARTICIPANT_LEFT:
      state.participants.delete(msg.participant.id);
      renderPeople();
      renderLayoutOptions();
      break;
    case EVENTS.LIBRARY_CHANGED:
      refreshMediaLibrary();
      break;
    case EVENTS.SCENE_CHANGED:
      setScene(msg);
      renderSceneControls();
      break;
    case EVENTS.STREAM_STATUS: {
      const was = state.stream?.status;
      state.stream = { ...state.stream, ...msg.stream };
      if (state.stream.status !== "live") renderProgramHealth(null);
      if (was !== "live" && state.stream.status === "live") announce("You are live.");
      if (was === "live" && state.stream.status === "ended") announce("The show has ended.");
      renderStatus();
      renderPeople();
      for (const id of state.destinations.keys()) renderDestination(id);
      syncLocalRecording();
      // Destinations, people and scene as the server now sees them.
      if (was !== state.stream.status) requestState();
      break;
    }
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
      // Settings changed elsewhere (the dashboard, the API): read the whole studio again.
      requestState();
      break;
    case EVENTS.UNMUTE_REQUESTED:
      toast(`${msg.participant.name} asks to be unmuted. Unmute them from the people list when you're ready.`, "info");
      break;
    case EVENTS.DESTINATION_HEALTH:
      if (state.stream?.status === "ended") break; // a late sample must not say "live" after the end
      recordHealth(msg.destination.id, msg.destination);
      renderDestination(msg.destination.id);
      break;
    case EVENTS.PROGRAM_HEALTH:
      renderProgramHealth(msg.program);
      break;
    case EVENTS.ERROR:
      toast(msg.message, "error");
      break;
    default:
      break;
  }
}

function requestState() {
  // At most one in flight: a burst of unknown partial updates asks once.
  if (requestState.pending) return;
  requestState.pending = true;
  window.setTimeout(() => {
    requestState.pending = false;
  }, 1000);
  socket.send({ type: MESSAGES.STATE_REQUEST });
}

function setScene(msg) {
  if (!newestScene(state, msg)) return; // a late scene, older than the one shown
  state.scene = msg.scene || {};
  state.graph = msg.scene_graph || null;
  if (msg.assets) state.assets = msg.assets;
  // After the end nothing is on air: the preview shows no one (not the host's name card under the note).
  renderer.setScene(state.stream?.status === "ended" ? null : state.graph, state.assets);
  editor.update(state.graph);
  playbackPanel?.setPlayback(state.scene.playback || null);
}

// The Media panel's list, again from the server: a clip finished processing, a playlist changed.
async function refreshMediaLibrary() {
  const box = $("media-library");
  if (!box) return;
  try {
    const response = await fetch(box.dataset.url, { credentials: "same-origin" });
    if (!response.ok) return;
    const html = await response.text();
    // Keep the host's choice of mode and transition across the reload.
    const kept = [...box.querySelectorAll("input[type=radio]:checked")].map((input) => [input.name, input.value]);
    box.innerHTML = html;
    for (const [name, value] of kept) {
      const input = box.querySelector(`input[name="${name}"][value="${value}"]`);
      if (input) input.checked = true;
    }
  } catch {
    // Offline for a moment: the next change (or a reload) brings the list.
  }
}

function renderAll() {
  renderStatus();
  renderPeople();
  renderSceneControls();
  renderLayoutOptions();
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
    renderer.setScene(null);
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
    onConfirm: () => socket.send({ type: MESSAGES.STREAM_GO_LIVE }),
  });
}

$("go-live").addEventListener("click", askGoLive);
$("end-show").addEventListener("click", () =>
  confirmAction({
    title: "End the show?",
    text: "Every destination stops and the recording is finalised. This cannot be undone.",
    ok: "End show",
    onConfirm: () => socket.send({ type: MESSAGES.STREAM_END }),
  }),
);

// --- people ----------------------------------------------------------------------------
// Backstage guests as small live thumbnails: subscribed at the lowest simulcast layer, and not at
// all while their thumbnail is scrolled out of sight (the SFU stops forwarding it).
const thumbs = new Map(); // identity → <video>
const thumbVisible = new Map(); // identity → in sight
const thumbObserver =
  "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
        for (const entry of entries) thumbVisible.set(entry.target.dataset.thumb, entry.isIntersecting);
        syncSubscriptions();
      })
    : null;

function thumbFor(p) {
  let video = thumbs.get(p.id);
  if (!video) {
    video = el("video", { className: "st-thumb", "aria-hidden": "true", "data-thumb": p.id });
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    thumbs.set(p.id, video);
    thumbObserver?.observe(video);
  }
  const track = sources.videos.get(p.id)?.track?.mediaStreamTrack;
  const current = video.srcObject?.getVideoTracks?.()[0];
  if (track && current !== track) {
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {});
  } else if (!track && current) {
    video.srcObject = null;
  }
  return video;
}

function syncSubscriptions() {
  if (!room) return;
  for (const p of state.participants.values()) {
    if (p.role === "host") continue;
    const publication = room.remoteParticipants.get(p.id)?.getTrackPublication(Track.Source.Camera);
    if (!publication) continue;
    if (p.on_stage) {
      publication.setEnabled(true);
      publication.setVideoQuality(VideoQuality.HIGH);
    } else {
      publication.setVideoQuality(VideoQuality.LOW);
      publication.setEnabled(thumbObserver ? Boolean(thumbVisible.get(p.id)) : true);
    }
  }
}

// Who the picture shows first: solo's one person, picture-in-picture's big one.
function featuredId() {
  const first = (state.graph?.layers || []).find((layer) => layer.kind === "video");
  return first?.source || null;
}

function onStagePeople() {
  const order = new Map((state.scene.stage_order || []).map((id, index) => [id, index]));
  return [...state.participants.values()]
    .filter((p) => p.on_stage)
    .sort((a, b) => (order.get(a.id) ?? 99) - (order.get(b.id) ?? 99));
}

function personRow(p) {
  const actions = el("div", { className: "st-person-actions" });
  const add = (name, label, handler, extra = {}) => {
    const button = el("button", { type: "button", className: "st-icon-btn", title: label, "aria-label": label, ...extra }, icon(name));
    button.addEventListener("click", handler);
    actions.append(button);
    return button;
  };
  const ended = state.stream?.status === "ended";
  // Solo on this person: right after the stage button, so the first button of a row stays "stage".
  const addSolo = () => {
    if (ended || !p.on_stage) return;
    const solo = state.scene.layout === "solo" && featuredId() === p.id;
    add("s-star", `Solo on ${p.name}`, () => socket.send({ type: MESSAGES.SCENE_SET, layout: "solo", featured: p.id }), {
      "data-action": "solo",
      "aria-pressed": String(solo),
    });
  };
  if (ended) {
    // The show is over: nothing left to do to anyone.
  } else if (p.role === "host") {
    add(
      p.on_stage ? "s-down" : "s-up",
      p.on_stage ? "Step off stage" : "Join the stage",
      () => socket.send({ type: MESSAGES.SCENE_SET, host_on_stage: !p.on_stage }),
      { "data-action": "stage" },
    );
    addSolo();
  } else {
    add(
      p.on_stage ? "s-down" : "s-up",
      p.on_stage ? `Send ${p.name} backstage` : `Bring ${p.name} on stage`,
      () => socket.send({ type: MESSAGES.GUEST_STAGE, guest: p.guest_id, on_stage: !p.on_stage }),
      { className: p.on_stage ? "st-icon-btn" : "st-icon-btn is-primary", "data-action": "stage" },
    );
    addSolo();
    add(p.audio ? "s-mic" : "s-mic-off", p.audio ? `Mute ${p.name}` : `Unmute ${p.name}`, () =>
      socket.send({ type: MESSAGES.GUEST_MUTE, guest: p.guest_id, audio: !p.audio }),
    ).setAttribute("aria-pressed", String(!p.audio));
    add(p.video ? "s-cam" : "s-cam-off", p.video ? `Hide ${p.name}'s video` : `Show ${p.name}'s video`, () =>
      socket.send({ type: MESSAGES.GUEST_MUTE, guest: p.guest_id, video: !p.video }),
    ).setAttribute("aria-pressed", String(!p.video));
    add("s-user-x", `Remove ${p.name}`, () =>
      confirmAction({
        title: `Remove ${p.name}?`,
        text: "They leave the studio and their invite link stops working.",
        ok: "Remove",
        onConfirm: () => socket.send({ type: MESSAGES.GUEST_REMOVE, guest: p.guest_id }),
      }),
    );
  }
  const meta = [p.role === "host" ? "You (host)" : p.role === "moderator" ? "Moderator" : "Guest"];
  if (p.online === false && p.role !== "host") meta.push("not connected");
  if (!p.audio) meta.push("muted");
  if (!p.video) meta.push("video off");
  const backstageVideo = !p.on_stage && p.role !== "host" && p.online !== false && !ended;
  return el(
    "li",
    { className: "st-person", "data-participant": p.id, "data-online": String(p.online !== false), "data-role": p.role },
    backstageVideo
      ? el("span", { className: "st-thumb-box" }, thumbFor(p), el("span", { className: "st-thumb-letter", "aria-hidden": "true", text: (p.name || "?").charAt(0).toUpperCase() }))
      : el("span", { className: "st-avatar", "aria-hidden": "true", text: (p.name || "?").charAt(0).toUpperCase() }),
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
  // The host is one row, always "You (host)"; a guest row without a name is not a person yet.
  const people = [...state.participants.values()].filter((p) => p.role && (p.role === "host" || p.name));
  const onStage = people.filter((p) => p.on_stage);
  const backstage = people.filter((p) => !p.on_stage);
  $("on-stage").replaceChildren(...onStage.map(personRow));
  $("backstage").replaceChildren(...backstage.map(personRow));
  $("stage-count").textContent = String(onStage.length);
  $("backstage-count").textContent = String(backstage.length);
  $("backstage-empty").hidden = backstage.length > 0 || people.length > 1;
  for (const id of [...thumbs.keys()]) {
    if (!state.participants.has(id)) {
      thumbObserver?.unobserve(thumbs.get(id));
      thumbs.delete(id);
      thumbVisible.delete(id);
    }
  }
  syncSubscriptions();
}

// --- layouts and overlays ----------------------------------------------------------------
const layoutButtons = [...root.querySelectorAll("[data-layout]")];
const cornerButtons = [...root.querySelectorAll("[data-corner]")];

function hasAsset(kind) {
  return Object.values(state.assets || {}).some((asset) => asset.kind === kind);
}

function renderSceneControls() {
  const layout = state.scene.layout;
  const focusInside = layoutButtons.includes(document.activeElement);
  for (const button of layoutButtons) {
    const checked = button.dataset.layout === layout;
    button.setAttribute("aria-checked", String(checked));
    if (!focusInside) button.tabIndex = checked ? 0 : -1;
  }
  if (!layoutButtons.some((b) => b.tabIndex === 0)) layoutButtons[0].tabIndex = 0;
  const overlays = state.scene.overlays || {};
  for (const button of root.querySelectorAll("[data-overlay]")) {
    const name = button.dataset.overlay;
    // A logo switch without a logo in the brand kit would promise what cannot be shown.
    const missing = name === "logo" && !hasAsset("logo");
    button.setAttribute("aria-pressed", String(Boolean(overlays[name]) && !missing));
    button.disabled = missing;
    button.title = missing ? "Add a logo to this stream's brand kit first" : "";
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
  renderLayoutOptions();
  renderPeople();
}

// What the chosen layout lets the host decide: who is featured, the PiP corner, custom positions.
function renderLayoutOptions() {
  const layout = state.scene.layout;
  const ended = state.stream?.status === "ended";
  const featuredField = $("featured-field");
  const select = $("featured-select");
  const choosing = (layout === "solo" || layout === "pip") && !ended;
  featuredField.hidden = !choosing;
  if (choosing) {
    $("featured-label").textContent = layout === "solo" ? "Solo on" : "Big picture";
    const people = onStagePeople();
    const current = featuredId();
    if (document.activeElement !== select) {
      select.replaceChildren(
        ...people.map((p) => el("option", { value: p.id, text: p.role === "host" ? `${p.name} (you)` : p.name, selected: p.id === current })),
      );
      select.disabled = people.length < 2;
    }
  }
  const pipCorners = $("pip-corners");
  pipCorners.hidden = layout !== "pip" || ended;
  const corner = state.scene.pip_corner || "bottom_right";
  const focusInCorners = cornerButtons.includes(document.activeElement);
  for (const button of cornerButtons) {
    const checked = button.dataset.corner === corner;
    button.setAttribute("aria-checked", String(checked));
    if (!focusInCorners) button.tabIndex = checked ? 0 : -1;
  }
  $("customise-layout").hidden = layout === "custom" || ended;
  const arrange = $("arrange");
  arrange.hidden = layout !== "custom" || ended;
  const arranging = layout === "custom" && arrange.getAttribute("aria-pressed") === "true" && !ended;
  $("keep-ratio-field").hidden = !arranging;
  $("arrange-help").hidden = !arranging;
  if (editor.active !== arranging) editor.setActive(arranging);
}

function setLayout(layout) {
  if (layout && layout !== state.scene.layout) socket.send({ type: MESSAGES.SCENE_SET, layout });
}

// Radio groups with one tab stop: arrow keys move and choose (WAI-ARIA radio group pattern).
function rovingKeys(buttons, choose) {
  return (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const last = buttons.length - 1;
    const next = {
      ArrowRight: index === last ? 0 : index + 1,
      ArrowDown: index === last ? 0 : index + 1,
      ArrowLeft: index === 0 ? last : index - 1,
      ArrowUp: index === 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    for (const button of buttons) button.tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
    choose(buttons[next]);
  };
}

$("layout-picker").addEventListener("keydown", rovingKeys(layoutButtons, (b) => setLayout(b.dataset.layout)));
$("pip-corners").addEventListener("keydown", rovingKeys(cornerButtons, (b) => setCorner(b.dataset.corner)));
layoutButtons.forEach((button) => button.addEventListener("click", () => setLayout(button.dataset.layout)));
cornerButtons.forEach((button) => button.addEventListener("click", () => setCorner(button.dataset.corner)));

function setCorner(corner) {
  if (corner !== state.scene.pip_corner) socket.send({ type: MESSAGES.SCENE_SET, pip_corner: corner });
}

$("featured-select").addEventListener("change", (event) =>
  socket.send({ type: MESSAGES.SCENE_SET, featured: event.target.value }),
);

// "Customise this layout": whatever preset is on air becomes a custom arrangement, ready to move by hand.
$("customise-layout").addEventListener("click", () => {
  const positions = graphPositions(state.graph);
  $("arrange").setAttribute("aria-pressed", "true");
  if (socket.send({ type: MESSAGES.SCENE_SET, layout: "custom", positions })) {
    announce("Custom layout: drag the tiles in the preview, or focus one and use the arrow keys.");
  }
});
$("arrange").addEventListener("click", (event) => {
  const on = event.currentTarget.getAttribute("aria-pressed") !== "true";
  event.currentTarget.setAttribute("aria-pressed", String(on));
  renderLayoutOptions();
  if (on) $("layout-editor").querySelector(".st-edit-tile")?.focus();
});

root.querySelectorAll("[data-overlay]").forEach((button) =>
  button.addEventListener("click", () => {
    const name = button.dataset.overlay;
    const on = !(state.scene.overlays || {})[name] || button.getAttribute("aria-pressed") !== "true";
    const message = { type: MESSAGES.SCENE_SET, overlays: { [name]: on } };
    // A banner needs words: the show's title until the host types something else.
    if (name === "banner" && on && !state.scene.banner_text) message.banner_text = state.stream?.title || "";
    socket.send(message);
  }),
);
$("banner-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("banner-text").value.trim();
  socket.send({ type: MESSAGES.SCENE_SET, banner_text: text, overlays: { banner: Boolean(text) } });
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
  const known = state.destinations.get(id);
  if (!row || (!entry && !known)) return;
  const h = entry?.last || {};
  // The server's word (ready / connecting / live / reconnecting / error / ended), as on the dashboard;
  // the show's end ends every destination whatever its last sample said.
  const word = state.stream?.status === "ended" ? "ended" : h.state || known?.state;
  const label = state.stream?.status === "ended" ? "Ended" : h.state_label || known?.state_label;
  const badge = row.querySelector(".st-dest-state");
  // Live but falling behind is not green: the badge says so, and the line under it says what it means.
  const behind = Boolean(h.falling_behind) && word === "live";
  if (word) {
    const shown = behind ? "behind" : word;
    badge.dataset.state = shown;
    badge.className = `badge st-dest-state badge-${shown}`;
    badge.textContent = behind ? "Falling behind" : label || word;
  }
  const flowing = word === "live" || word === "reconnecting" || word === "connecting";
  const kbps = flowing && typeof h.bitrate_kbps === "number" ? Math.round(h.bitrate_kbps) : null;
  const behindLine = row.querySelector(".st-dest-behind");
  if (behindLine) {
    behindLine.hidden = !behind;
    behindLine.textContent = behind ? `Falling behind: receiving ${kbps ?? 0} kbps, less than the show sends.` : "";
  }
  row.querySelector(".st-dest-bitrate").textContent = kbps === null ? "— kbps" : `${kbps} kbps`;
  const reconnects = h.reconnects ?? h.reconnect_count ?? 0;
  row.querySelector(".st-dest-reconnects").textContent = `${reconnects} reconnect${reconnects === 1 ? "" : "s"}`;
  const error = row.querySelector(".st-dest-error");
  const message = flowing || word === "error" ? h.last_error || known?.health?.last_error : "";
  error.hidden = !message;
  error.textContent = message || "";
  drawSparkline(row.querySelector(".st-spark"), entry?.samples || []);
}

// The program against the wall clock (program.health from apps/shows/health.py, once a second while
// live): a plain warning, with how far from real time, while it falls behind.
function renderProgramHealth(program) {
  const line = $("program-health");
  if (!line) return;
  const live = state.stream?.status === "live";
  // Shown while falling behind, and while the encoder runs stepped down (the message says why).
  line.hidden = !(live && (program?.falling_behind || program?.message));
  root.dataset.programFallingBehind = live && program?.falling_behind ? "true" : "false";
  if (line.hidden) {
    line.textContent = "";
    return;
  }
  const rtf =
    program.falling_behind && typeof program.real_time_factor === "number"
      ? ` (${program.real_time_factor.toFixed(2)}× real time)`
      : "";
  line.textContent = `${program.message}${rtf}`;
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
  if (text && socket.send({ type: MESSAGES.CHAT_SEND, text })) input.value = "";
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
      onLost: () => {
        // LiveKit gave up on this connection (restarted, or away too long): join again with a fresh token.
        room = null;
        window.setTimeout(startMedia, RTC_RETRY_MS);
      },
    });
    room = joined.room;
    // Backstage thumbnails follow the tracks as they come and go.
    room.on(RoomEvent.TrackSubscribed, () => renderPeople());
    room.on(RoomEvent.TrackUnsubscribed, () => renderPeople());
    room.on(RoomEvent.LocalTrackUnpublished, (pub) => {
      // The browser's own "Stop sharing" bar ends a share without our button.
      const button = $("share-screen");
      if (pub.source === Track.Source.ScreenShare && button.getAttribute("aria-pressed") === "true") {
        button.setAttribute("aria-pressed", "false");
        button.querySelector("span").textContent = "Share screen";
        socket.send({ type: MESSAGES.SHARE_SET, on: false });
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
    if (source === Track.Source.Microphone) socket.send({ type: MESSAGES.SCENE_SET, host_muted: !on });
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
    socket.send({ type: MESSAGES.SHARE_SET, on: !sharing });
  } catch (error) {
    toast(error.name === "NotAllowedError" ? "Screen sharing was cancelled." : error.message, "warning");
  }
});

// The browser only plays remote audio after a gesture; the first click anywhere starts it.
document.addEventListener("click", () => room?.startAudio(), { once: true });

startMedia();

// The audience comments panel, live over its own socket (host; a moderator on the guest page).
startCommentsPanels();
