// Library clips playing into the show (apps/streams/playback.py), in the browser:
//   - ClipPlayer: the preview's side of a "clip" layer. One hidden <video> plays the layer's
//     items at (now - started_at - item.start), so the studio's and the guests' previews show
//     what the compositor puts on air. ProgramRenderer (common.js) draws it into the layer rect.
//   - PlaybackPanel: the host's Media panel (templates/studio/_media_panel.html): Play a clip or
//     playlist full screen or as a layer with a cut or a fade, Stop, and the remaining time.
//
// Audio: the preview keeps the clip AUDIBLE, for the host and the guests alike (issue 7: the
// guests see and hear it). It does not echo into the show: the compositor mixes the clip's
// audio from the file, and the browsers' microphones run with echo cancellation, which removes
// what this page itself plays. Headphones are still the studio's advice.

import "./playback.css";

import { MESSAGES } from "./events.js";

// Keeping the preview on the program's clock (issue 15: a guest's preview froze on a clip).
// Seeking costs a stall while the bytes arrive; a player that seeks every time it falls behind
// falls behind again during the seek and never plays. So: small drifts are taken up by playing a
// little faster or slower, only a big one seeks, never while a seek is still running, and a seek
// aims where the program will be once it completes (the last seek's duration ahead).
const SEEK_DRIFT_SECONDS = 0.4;
const RATE_DRIFT_SECONDS = 0.06;
const CATCH_UP_RATE = 0.1; // ±10 %: 0.3 s of drift gone in 3 s, inaudible on speech
const MAX_SEEK_LEAD_SECONDS = 1.5;

export function clipLayer(graph) {
  return (graph?.layers || []).find((layer) => layer.kind === "clip") || null;
}

// Where the program is in a playback, by the clock: {item, index, offset, elapsed, remaining} or null.
export function playbackPosition(playback, nowSeconds = Date.now() / 1000) {
  if (!playback) return null;
  const elapsed = nowSeconds - Number(playback.started_at || 0);
  const duration = Number(playback.duration || 0);
  if (elapsed < 0 || elapsed >= duration) return null;
  const items = playback.items || [];
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index];
    const start = Number(item.start || 0);
    if (elapsed >= start && elapsed < start + Number(item.duration || 0)) {
      return { item, index, offset: elapsed - start, elapsed, remaining: duration - elapsed };
    }
  }
  return null;
}

export class ClipPlayer {
  constructor(container) {
    this.video = document.createElement("video");
    this.video.className = "st-clip-video";
    this.video.playsInline = true;
    this.video.preload = "auto";
    this.video.dataset.clipPlayer = "";
    (container || document.body).append(this.video);
    this.playback = null;
    this.url = null;
    this.seekLead = 0.2;
    this.video.addEventListener("seeking", () => {
      this.seekStarted = performance.now();
    });
    this.video.addEventListener("seeked", () => {
      if (this.seekStarted) this.seekLead = Math.min(MAX_SEEK_LEAD_SECONDS, (performance.now() - this.seekStarted) / 1000);
      this.seekStarted = 0;
    });
    // Kept in step by the clock as well as by the renderer's frames: a busy page draws fewer frames,
    // and a player that stalled for data must be put back on time as soon as it can play.
    this.video.addEventListener("playing", () => this.sync());
    window.setInterval(() => {
      if (this.playback) this.sync();
    }, 250);
  }

  // How far the preview is from the program (seconds; positive: ahead), or null when nothing plays.
  drift() {
    const position = playbackPosition(this.playback);
    if (!position || this.url !== position.item.url || this.video.readyState < 1) return null;
    return this.video.currentTime - position.offset;
  }

  // The layer's playback from the scene graph (null: nothing plays).
  set(playback) {
    if (!playback) {
      this.playback = null;
      this.url = null;
      this.video.pause();
      this.video.removeAttribute("src");
      this.video.load();
      return;
    }
    this.playback = playback;
    this.sync();
  }

  // Keep the <video> on the program's item and position; called every frame by the renderer.
  sync() {
    const position = playbackPosition(this.playback);
    if (!position) {
      if (!this.video.paused) this.video.pause();
      return null;
    }
    const { item, offset } = position;
    const v = this.video;
    if (this.url !== item.url) {
      this.url = item.url;
      v.src = item.url;
      v.currentTime = offset + this.seekLead;
    } else if (v.readyState >= 1 && !v.seeking) {
      const drift = v.currentTime - offset;
      if (Math.abs(drift) > SEEK_DRIFT_SECONDS) {
        v.playbackRate = 1;
        v.currentTime = Math.min(offset + this.seekLead, Number(item.duration || Infinity));
      } else if (Math.abs(drift) > RATE_DRIFT_SECONDS) {
        v.playbackRate = drift > 0 ? 1 - CATCH_UP_RATE : 1 + CATCH_UP_RATE;
      } else if (v.playbackRate !== 1) {
        v.playbackRate = 1;
      }
    }
    if (this.video.paused && !this.starting) {
      this.starting = true;
      this.video
        .play()
        .catch(() => {
          // Autoplay with sound refused (no click on this page yet): the picture must still run.
          this.video.muted = true;
          return this.video.play().catch(() => {});
        })
        .finally(() => {
          this.starting = false;
        });
    }
    return position;
  }

  // Opacity of the clip layer now: a fade transition ramps in at the start and out at the end.
  alpha(nowSeconds = Date.now() / 1000) {
    const playback = this.playback;
    const transition = playback?.transition || {};
    if (transition.kind !== "fade" || !transition.duration_ms) return 1;
    const fade = transition.duration_ms / 1000;
    const elapsed = nowSeconds - Number(playback.started_at || 0);
    const left = Number(playback.duration || 0) - elapsed;
    return Math.max(0, Math.min(1, elapsed / fade, left / fade));
  }

  // Draw into rect r (canvas units) with `drawFitted`; false when there is no frame yet.
  draw(ctx, r, drawFitted, fit) {
    const position = this.sync();
    const v = this.video;
    if (!position || v.readyState < 2 || !v.videoWidth) return false;
    const before = ctx.globalAlpha;
    ctx.globalAlpha = before * this.alpha();
    drawFitted(ctx, v, v.videoWidth, v.videoHeight, r, fit || "contain");
    ctx.globalAlpha = before;
    return true;
  }
}

function clock(seconds) {
  const total = Math.max(0, Math.ceil(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  return `${Math.floor(total / 60)}:${pad(total % 60)}`;
}

// The host's Media panel. `send(message)` goes over the studio socket.
export class PlaybackPanel {
  constructor(root, send) {
    this.root = root;
    this.send = send;
    this.playback = null;
    this.progress = null;
    this.status = root.querySelector("[data-playback-status]");
    this.title = root.querySelector("[data-playback-title]");
    this.remaining = root.querySelector("[data-playback-remaining]");
    this.bar = root.querySelector("[data-playback-bar]");
    this.stop = root.querySelector("[data-playback-stop]");
    root.addEventListener("click", (event) => {
      const button = event.target.closest("[data-play]");
      if (button) this.play(button);
    });
    this.stop?.addEventListener("click", () => this.send({ type: MESSAGES.PLAYBACK_STOP }));
    window.setInterval(() => this.render(), 250);
  }

  play(button) {
    const mode = this.root.querySelector("[name=playback-mode]:checked")?.value || "fullscreen";
    const transition = this.root.querySelector("[name=playback-transition]:checked")?.value || "cut";
    const message = { type: MESSAGES.PLAYBACK_START, mode, transition };
    message[button.dataset.play] = Number(button.dataset.id);
    this.send(message);
  }

  // From the scene (scene.changed / state.full): what plays, or null.
  setPlayback(playback) {
    if (playback?.id !== this.playback?.id) this.progress = null;
    this.playback = playback || null;
    this.render();
  }

  // From playback.progress (the compositor's clock beats ours when the show is live).
  setProgress(report) {
    if (report && this.playback && report.id && report.id !== this.playback.id) return;
    this.progress = report ? { ...report, at: Date.now() / 1000 } : null;
    this.render();
  }

  ended(report) {
    if (!report || !this.playback || report.id === this.playback.id) {
      this.playback = null;
      this.progress = null;
      this.render();
    }
  }

  render() {
    const playback = this.playback;
    const now = Date.now() / 1000;
    let remaining = null;
    if (playback) {
      // One clock: the playback's start, the one every preview and the compositor follow. Mixing it
      // with the compositor's once-a-second reports made the counter jitter and the bar step back.
      remaining = Number(playback.started_at) + Number(playback.duration) - now;
      remaining = Math.max(0, Math.min(Number(playback.duration), remaining));
      // Never backwards within one playback.
      if (this.shownFor === playback.id && this.shownRemaining !== undefined) remaining = Math.min(remaining, this.shownRemaining);
      this.shownFor = playback.id;
      this.shownRemaining = remaining;
    }
    const playing = playback !== null && remaining !== null && remaining > 0;
    this.status.hidden = !playing;
    this.root.dataset.playing = playing ? "true" : "false";
    if (!playing) return;
    const position = playbackPosition(playback, now);
    const item = position?.item || playback.items?.[0] || {};
    const count = playback.items?.length || 1;
    this.title.textContent = count > 1 ? `${item.title} (${(position?.index ?? 0) + 1}/${count})` : item.title || "";
    this.remaining.textContent = `-${clock(remaining)}`;
    this.remaining.dataset.seconds = String(Math.ceil(remaining));
    this.bar.max = Number(playback.duration) || 1;
    this.bar.value = Number(playback.duration) - remaining;
  }
}
