// Shared by the studio (studio.js) and the guest page (guest.js):
//   - StudioSocket: the studio websocket, reconnecting by itself; the server
//     sends a full state snapshot (state.full) on every (re)connect, so a web
//     or Redis restart costs a reconnect and nothing else.
//   - MediaSources: LiveKit tracks by participant identity, as <video>/<audio>
//     elements the preview draws from.
//   - ProgramRenderer: draws the scene graph JSON (apps/streams/layout.py) on a
//     canvas, the same layers the compositor renders, so what the host sees is
//     what goes out.
//   - levelMeter: a microphone level bar from a WebAudio analyser.
// The page CSP is `script-src 'self'; style-src 'self'`: no inline code, no
// style attributes (element.style via the CSSOM is allowed and used nowhere here).
import { DisconnectReason, Room, RoomEvent, Track } from "livekit-client";

import { toast } from "../lib/toast.js";
import { csrfToken } from "../lib/http.js";
import { ClipPlayer, clipLayer } from "./playback.js";
import { MESSAGES } from "./events.js";

export { csrfToken };

export { toast };

// Close codes from apps/streams/consumers.py after which reconnecting is pointless.
export const FATAL_CLOSE = {
  4401: "This page is not signed in to the studio.",
  4403: "You are not allowed in this studio.",
  4404: "This studio no longer exists.",
  4410: "Your invite is no longer valid.",
};
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 8000;
// A connection that goes silent (a proxy or NAT dropping it without a close) is noticed by the page
// itself: after PING_AFTER_MS without a message it pings (the server answers pong), and a ping
// unanswered for PONG_WAIT_MS gives the connection up and reconnects. A handshake that does not
// complete within OPEN_TIMEOUT_MS is given up too. Without this a dead socket says "Connected".
const PING_AFTER_MS = 5000;
const PONG_WAIT_MS = 7000;
const OPEN_TIMEOUT_MS = 10000;
const WATCH_EVERY_MS = 1000;


export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    // An HTML error page: keep the status.
  }
  if (!response.ok) {
    const error = new Error(data.error || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// --- the studio websocket ----------------------------------------------------
export class StudioSocket {
  constructor(path, { onMessage, onStatus, onFatal, firstMessage } = {}) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onFatal = onFatal || (() => {});
    this.firstMessage = firstMessage || null;
    this.backoff = BACKOFF_MIN_MS;
    this.refs = 0;
    this.stopped = false;
    this.ws = null;
    this.open();
  }

  open() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.heard = Date.now();
    this.pinged = 0;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.backoff = BACKOFF_MIN_MS;
      this.heard = Date.now();
      if (this.firstMessage) ws.send(JSON.stringify(this.firstMessage));
      this.onStatus("open");
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.heard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      if (FATAL_CLOSE[event.code]) {
        this.stopped = true;
        this.stopWatching();
        this.onStatus("closed");
        this.onFatal(event.code, FATAL_CLOSE[event.code]);
        return;
      }
      this.lost();
    });
    this.watch();
  }

  // Once a second: is the connection still alive?
  watch() {
    if (this.watcher) return;
    this.watcher = window.setInterval(() => {
      const ws = this.ws;
      if (!ws || this.stopped) return;
      const quiet = Date.now() - this.heard;
      if (ws.readyState === WebSocket.CONNECTING && quiet > OPEN_TIMEOUT_MS) {
        this.lost();
      } else if (ws.readyState === WebSocket.OPEN) {
        // Only a ping left unanswered counts: a background tab's timers may run once a minute.
        const unanswered = this.pinged > this.heard;
        if (unanswered && Date.now() - this.pinged > PONG_WAIT_MS) {
          this.lost();
        } else if (!unanswered && quiet > PING_AFTER_MS) {
          this.pinged = Date.now();
          ws.send(JSON.stringify({ type: MESSAGES.PING }));
        }
      }
    }, WATCH_EVERY_MS);
  }

  stopWatching() {
    window.clearInterval(this.watcher);
    this.watcher = null;
  }

  // The connection is gone (closed, or silent): drop it and try again after a backoff.
  lost() {
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.close();
    if (this.stopped) return;
    this.onStatus("reconnecting");
    // Jitter, so a restarted server is not hit by every studio at once.
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    window.setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  send(message) {
    const ref = `r${++this.refs}`;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      toast("Not connected to the studio right now; try again in a moment.", "warning");
      return null;
    }
    this.ws.send(JSON.stringify({ ...message, ref }));
    return ref;
  }

  close() {
    this.stopped = true;
    this.stopWatching();
    this.ws?.close();
  }
}

export function connectionLabel(status) {
  return (
    {
      connecting: "Connecting…",
      open: "Connected",
      reconnecting: "Reconnecting…",
      closed: "Disconnected",
    }[status] || status
  );
}

// --- media from LiveKit ---------------------------------------------------------
export class MediaSources {
  constructor(container) {
    this.container = container;
    this.videos = new Map(); // source key → <video>
    this.audios = new Map(); // track sid → <audio>
  }

  static key(identity, track) {
    return track.source === Track.Source.ScreenShare ? `${identity}:screen` : identity;
  }

  addVideo(key, track) {
    this.removeVideo(key);
    const el = track.attach();
    el.muted = true;
    el.playsInline = true;
    el.dataset.source = key;
    this.container.append(el);
    this.videos.set(key, { el, track });
  }

  removeVideo(key, track) {
    const entry = this.videos.get(key);
    if (!entry || (track && entry.track !== track)) return;
    entry.track.detach(entry.el);
    entry.el.remove();
    this.videos.delete(key);
  }

  addAudio(track) {
    const el = track.attach();
    el.dataset.sid = track.sid || "";
    this.container.append(el);
    this.audios.set(track.sid, el);
  }

  removeAudio(track) {
    const el = this.audios.get(track.sid);
    if (el) {
      track.detach(el);
      el.remove();
      this.audios.delete(track.sid);
    }
  }

  video(key) {
    const entry = this.videos.get(key);
    if (!entry || entry.track.isMuted) return null;
    const el = entry.el;
    return el.readyState >= 2 && el.videoWidth > 0 ? el : null;
  }

  // Wire a Room: remote tracks come and go; our own published video is a source too.
  watch(room) {
    room.on(RoomEvent.TrackSubscribed, (track, _pub, participant) => {
      if (track.kind === Track.Kind.Video) this.addVideo(MediaSources.key(participant.identity, track), track);
      else if (track.kind === Track.Kind.Audio) this.addAudio(track);
    });
    room.on(RoomEvent.TrackUnsubscribed, (track, _pub, participant) => {
      if (track.kind === Track.Kind.Video) this.removeVideo(MediaSources.key(participant.identity, track), track);
      else if (track.kind === Track.Kind.Audio) this.removeAudio(track);
    });
    room.on(RoomEvent.LocalTrackPublished, (pub, participant) => {
      if (pub.track && pub.kind === Track.Kind.Video) {
        this.addVideo(MediaSources.key(participant.identity, pub.track), pub.track);
      }
    });
    room.on(RoomEvent.LocalTrackUnpublished, (pub, participant) => {
      if (pub.track && pub.kind === Track.Kind.Video) {
        this.removeVideo(MediaSources.key(participant.identity, pub.track), pub.track);
      }
    });
  }
}

// Disconnects after which joining again is wrong: we left, someone else took our identity, the host removed
// us, or the room is gone because the show ended.
const FINAL_DISCONNECTS = new Set([
  DisconnectReason.CLIENT_INITIATED,
  DisconnectReason.DUPLICATE_IDENTITY,
  DisconnectReason.PARTICIPANT_REMOVED,
  DisconnectReason.ROOM_DELETED,
]);

// Join the stream's LiveKit room with a token from `rtcPath`. livekit-client resumes or rejoins by itself
// after a short break; when it gives up (LiveKit restarted and forgot the room, a long outage), `onLost` is
// called so the page can join again with a fresh token, which opens the room again.
export async function joinRoom({ rtcPath, body, sources, onState, onLost, keepTracks = false }) {
  const access = await postJSON(rtcPath, body);
  // dynacast: layers nobody watches are paused at the sender; simulcast is set per published track.
  // keepTracks: tracks the page made itself survive a lost connection, to be published again.
  const room = new Room({ adaptiveStream: false, dynacast: true, stopLocalTrackOnUnpublish: !keepTracks });
  sources.watch(room);
  room.on(RoomEvent.Reconnecting, () => onState?.("reconnecting"));
  room.on(RoomEvent.Reconnected, () => onState?.("connected"));
  room.on(RoomEvent.Disconnected, (reason) => {
    onState?.("disconnected");
    if (!FINAL_DISCONNECTS.has(reason)) onLost?.(reason);
  });
  await room.connect(access.url, access.token);
  onState?.("connected");
  return { room, identity: access.identity };
}

// --- the program preview ---------------------------------------------------------
const PREVIEW_MAX_WIDTH = 1280; // preview pixels: enough for a sharp 16:9 panel, cheap to draw
const PREVIEW_FRAME_MS = 1000 / 30;

export class ProgramRenderer {
  constructor(canvas, sources) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.sources = sources;
    this.graph = null;
    this.assets = {};
    this.images = new Map();
    // Person id → rect (canvas pixels): where the layout editor is holding them right now, before the server's scene.
    this.overrides = new Map();
    // A library clip playing into the show ("clip" layer, apps/streams/playback.py), next to the tracks.
    this.clip = new ClipPlayer(sources?.container || document.body);
    this.frame = this.frame.bind(this);
    window.requestAnimationFrame(this.frame);
  }

  setScene(graph, assets) {
    this.graph = graph || null;
    if (assets) this.assets = assets;
    this.clip.set(clipLayer(graph)?.playback || null);
    if (graph) {
      const scale = Math.min(1, PREVIEW_MAX_WIDTH / graph.width);
      const w = Math.round(graph.width * scale);
      const h = Math.round(graph.height * scale);
      if (this.canvas.width !== w || this.canvas.height !== h) {
        this.canvas.width = w;
        this.canvas.height = h;
      }
    }
  }

  image(source) {
    const asset = this.assets[source];
    const url = asset ? asset.url : null;
    if (!url) return null;
    let img = this.images.get(url);
    if (!img) {
      img = new Image();
      img.src = url;
      this.images.set(url, img);
    }
    return img.complete && img.naturalWidth ? img : null;
  }

  frame(now) {
    try {
      // 30 frames a second is the program's own pace at most; drawing every screen refresh only
      // costs the machine (two cameras and a clip on a laptop already keep it busy).
      if (!this.lastDraw || now - this.lastDraw >= PREVIEW_FRAME_MS - 2) {
        this.lastDraw = now;
        this.draw();
      }
    } finally {
      window.requestAnimationFrame(this.frame);
    }
  }

  draw() {
    const { ctx, canvas, graph } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    if (!graph) {
      ctx.fillStyle = "#0b0d13";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const scale = canvas.width / graph.width;
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    for (const layer of graph.layers) {
      ctx.globalAlpha = layer.opacity ?? 1;
      const r = layer.rect;
      switch (layer.kind) {
        case "background": {
          const img = layer.source ? this.image(layer.source) : null;
          if (img) drawFitted(ctx, img, img.naturalWidth, img.naturalHeight, r, "cover");
          else {
            ctx.fillStyle = layer.style?.bg || "#101018";
            ctx.fillRect(r.x, r.y, r.w, r.h);
          }
          break;
        }
        case "video":
        case "screen": {
          const box = this.overrides.get(layer.source) || r;
          const el = this.sources.video(layer.source);
          if (el) drawFitted(ctx, el, el.videoWidth, el.videoHeight, box, layer.fit, true);
          else drawNameCard(ctx, box, layer.label || "", layer.kind === "screen");
          break;
        }
        case "name_tag":
          // A tile the editor is holding: its tag comes back with the server's scene.
          if (!this.overrides.has(layer.source)) drawTextBox(ctx, r, layer.label, layer.style, 0.55, "left");
          break;
        case "banner":
          drawTextBox(ctx, r, layer.label, layer.style, 0.5, "left");
          break;
        case "clip":
          this.clip.draw(ctx, r, drawFitted, layer.fit);
          break;
        case "logo":
        case "overlay": {
          const img = this.image(layer.source);
          // No backdrop: a logo's transparent corners stay transparent, as on air.
          if (img) drawFitted(ctx, img, img.naturalWidth, img.naturalHeight, r, "contain", false);
          break;
        }
        default:
          break; // comment cards and future kinds: the compositor draws them; the preview skips
      }
    }
    ctx.globalAlpha = 1;
  }
}

// `backdrop`: letterbox bars in black (pictures, clips); images with transparency get none.
function drawFitted(ctx, source, sw, sh, r, fit, backdrop = true) {
  if (!sw || !sh) return;
  const sourceAspect = sw / sh;
  const boxAspect = r.w / r.h;
  if (fit === "contain") {
    let w = r.w;
    let h = r.h;
    if (sourceAspect > boxAspect) h = r.w / sourceAspect;
    else w = r.h * sourceAspect;
    if (backdrop) {
      ctx.fillStyle = "#000";
      ctx.fillRect(r.x, r.y, r.w, r.h);
    }
    ctx.drawImage(source, r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h);
    return;
  }
  // cover: crop the source to the box's aspect, centred
  let cw = sw;
  let ch = sh;
  if (sourceAspect > boxAspect) cw = sh * boxAspect;
  else ch = sw / boxAspect;
  ctx.drawImage(source, (sw - cw) / 2, (sh - ch) / 2, cw, ch, r.x, r.y, r.w, r.h);
}

function drawNameCard(ctx, r, name, isScreen) {
  ctx.fillStyle = "#1a1f2b";
  ctx.fillRect(r.x, r.y, r.w, r.h);
  const size = Math.min(r.w, r.h) * 0.22;
  ctx.fillStyle = "#7c6cff";
  ctx.beginPath();
  ctx.arc(r.x + r.w / 2, r.y + r.h / 2 - size * 0.3, size, 0, Math.PI * 2);
  ctx.fill();
  ctx.fillStyle = "#fff";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.font = `600 ${Math.round(size)}px system-ui, sans-serif`;
  ctx.fillText(isScreen ? "⧉" : (name || "?").trim().charAt(0).toUpperCase(), r.x + r.w / 2, r.y + r.h / 2 - size * 0.3);
  ctx.font = `500 ${Math.round(size * 0.45)}px system-ui, sans-serif`;
  ctx.fillStyle = "#98a1b6";
  ctx.fillText(isScreen ? "Screen share" : name, r.x + r.w / 2, r.y + r.h / 2 + size * 1.1, r.w * 0.9);
}

function drawTextBox(ctx, r, text, style, sizeRatio, align) {
  ctx.fillStyle = style?.bg || "#5B4BFF";
  ctx.fillRect(r.x, r.y, r.w, r.h);
  ctx.fillStyle = style?.fg || "#FFFFFF";
  ctx.font = `600 ${Math.round(r.h * sizeRatio)}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  ctx.textAlign = align;
  const pad = r.h * 0.35;
  ctx.fillText(text || "", r.x + pad, r.y + r.h / 2, r.w - pad * 2);
}

// --- microphone level -----------------------------------------------------------
// An analyser on the microphone track; the bar is the RMS level with a short peak hold.
export function levelMeter(canvas, mediaStreamTrack) {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass || !mediaStreamTrack) return () => {};
  const audio = new AudioContextClass();
  const source = audio.createMediaStreamSource(new MediaStream([mediaStreamTrack]));
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const ctx = canvas.getContext("2d");
  let peak = 0;
  let running = true;
  let lastAria = -1;
  const draw = () => {
    if (!running) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const rms = Math.sqrt(sum / samples.length);
    // dBFS -60..0 mapped to 0..1: speech sits around -30..-10
    const level = Math.max(0, Math.min(1, (20 * Math.log10(rms || 1e-8) + 60) / 60));
    peak = Math.max(level, peak - 0.01);
    const { width, height } = canvas;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#0b0d13";
    ctx.fillRect(0, 0, width, height);
    const gradient = ctx.createLinearGradient(0, 0, width, 0);
    gradient.addColorStop(0, "#2fd08a");
    gradient.addColorStop(0.7, "#f6b23c");
    gradient.addColorStop(1, "#ff3d5a");
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, width * level, height);
    ctx.fillStyle = "#e8ebf2";
    ctx.fillRect(Math.max(0, width * peak - 3), 0, 3, height);
    const percent = Math.round(level * 100);
    if (percent !== lastAria) {
      canvas.setAttribute("aria-valuenow", String(percent));
      canvas.dataset.level = String(percent);
      lastAria = percent;
    }
    window.requestAnimationFrame(draw);
  };
  audio.resume?.();
  window.requestAnimationFrame(draw);
  return () => {
    running = false;
    source.disconnect();
    audio.close();
  };
}

// --- screen readers ------------------------------------------------------------------
// One polite live region per page (base.html, #sr-announcer): going live, a guest joining, being muted.
export function announce(text) {
  const region = document.getElementById("sr-announcer");
  if (!region) return;
  // Cleared first so the same words said twice are announced twice.
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// --- small DOM helpers ------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("data-") || name.startsWith("aria-") || name === "role" || name === "title" || name === "type")
      node.setAttribute(name, value === true ? "" : String(value));
    else node[name] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

export function renderChat(list, messages) {
  list.replaceChildren();
  if (!messages.length) {
    list.append(el("li", { className: "st-chat-empty", text: "No messages yet. Say hello!" }));
    return;
  }
  for (const m of messages) {
    const at = m.at ? new Date(m.at) : null;
    const time =
      at && !Number.isNaN(at.getTime())
        ? el("time", {
            className: "st-chat-time",
            dateTime: m.at,
            text: at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
          })
        : null;
    list.append(
      el(
        "li",
        { className: "st-chat-line", "data-role": m.role, "data-id": m.id },
        time,
        el("span", { className: "st-chat-author", text: m.author }),
        el("span", { text: m.text }),
      ),
    );
  }
  list.scrollTop = list.scrollHeight;
}

export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}
