// Local per-participant recording in the studio (studio.js, the host) and on the
// guest page (guest.js): while the show is live and this person is on stage, their
// browser records its own camera and microphone at full capture quality (not the
// simulcast layers LiveKit sends) with MediaRecorder, and uploads the chunks as it
// goes (upload_recorder.js: resumable, retries with backoff from the server's offset).
// After the show the creator finds one file per person beside the show's recording
// on /recordings/.
//
//   const local = new LocalRecording({ streamId, title, createUrl, tracks: () => [mic, cam] });
//   local.want(isLive && onStage);     // call on every state change; idempotent
//   local.setEnabled("audio", false);  // follow a mute: the file gets silence, not the room
//
// Coming off stage (or the show ending) finishes the file; coming back during
// the same show starts a new one. The recorder records clones of the tracks, so a
// LiveKit mute that stops its camera track, or a page that stops its tracks when
// the show ends, does not cut the recording short before its last chunk is out.
import "./local_recording.css";

import { LocalRecorder } from "../upload_recorder.js";
import { toast } from "../lib/toast.js";

// Video at full capture quality: ~2.5 Mbit/s VP8 keeps 720p camera detail for editing.
const VIDEO_BITS_PER_SECOND = 2_500_000;
// One MediaRecorder slice a second: an upload chunk fills every few seconds.
const TIMESLICE_MS = 1000;
const INDICATOR_MS = 500;
const MB = 1024 * 1024;

export class LocalRecording {
  constructor({ streamId, title = "", createUrl, tracks, indicators = [], onSettled = () => {} }) {
    this.onSettled = onSettled; // ({ok}) once nothing is recording or uploading any more
    this.streamId = streamId;
    this.title = title;
    this.createUrl = createUrl;
    this.tracks = tracks; // () => [MediaStreamTrack…] of this person's camera and microphone
    this.indicators = indicators;
    this.wanted = false;
    this.current = null; // {recorder, clones}
    this.finishing = []; // recorders stopped, last chunks still going out
    this.uploadedBefore = 0; // bytes of files already finished
    this.recordedBefore = 0;
    this.sessionStart = 0;
    this.sessionMs = 0; // the last session's length, for the indicator's data-session-ms
    this.refused = false;
    this.files = 0;
    this.failed = false;
    this.enabled = { audio: true, video: true };
    this.chain = Promise.resolve(); // start/stop one at a time, in order
    this.timer = null;
    window.addEventListener("beforeunload", (event) => {
      // Closing the page now would lose what is not uploaded yet.
      if (this.current || this.finishing.length) event.preventDefault();
    });
  }

  get busy() {
    return Boolean(this.current || this.finishing.length);
  }

  want(on) {
    // The participant's session as this page saw it: live and on stage, until no longer.
    if (on && !this.wanted) {
      this.sessionStart = performance.now();
      this.refused = false;
    }
    else if (!on && this.wanted) this.sessionMs = performance.now() - this.sessionStart;
    this.wanted = Boolean(on);
    this.chain = this.chain.then(() => this.apply());
    return this.chain;
  }

  setEnabled(kind, on) {
    this.enabled[kind] = on;
    for (const track of this.current?.clones || []) {
      if (track.kind === kind) track.enabled = on;
    }
  }

  async apply() {
    if (this.wanted && !this.current && !this.refused) await this.begin();
    else if (!this.wanted && this.current) this.finish();
    this.render();
  }

  async begin() {
    const originals = (this.tracks() || []).filter((t) => t && t.readyState === "live");
    if (!originals.length) return; // media not ready yet: the page calls want() again when it is
    const clones = originals.map((t) => t.clone());
    for (const track of clones) track.enabled = this.enabled[track.kind] !== false;
    const recorder = new LocalRecorder(new MediaStream(clones), {
      streamId: this.streamId,
      title: this.title,
      createUrl: this.createUrl,
      timesliceMs: TIMESLICE_MS,
      bitsPerSecond: VIDEO_BITS_PER_SECOND,
    });
    this.current = { recorder, clones }; // recording from now; the upload session opens meanwhile
    this.render();
    this.tick();
    try {
      await recorder.start();
    } catch (error) {
      this.current = null;
      for (const track of clones) track.stop();
      this.failed = true;
      this.refused = true; // not again in this session: every state change would toast it anew
      toast(error.message || "Your local recording could not start.", "warning");
      return;
    }
    this.failed = false;
  }

  // Stops recording at once; the last chunks upload in the background, so coming back on
  // stage straight away starts the next file without waiting for this one's upload.
  finish() {
    const { recorder, clones } = this.current;
    this.current = null;
    this.finishing.push(recorder);
    const media = recorder.recorder;
    // The clones end once MediaRecorder has emitted its last data.
    if (media && media.state !== "inactive") {
      media.addEventListener("stop", () => clones.forEach((t) => t.stop()), { once: true });
    } else {
      clones.forEach((t) => t.stop());
    }
    recorder
      .stop()
      .then(
        () => true,
        (error) => {
          toast(error.message || "Your local recording could not be uploaded.", "error");
          return false;
        },
      )
      .then((ok) => {
        this.finishing = this.finishing.filter((r) => r !== recorder);
        this.uploadedBefore += recorder.offset;
        this.recordedBefore += recorder.recorded;
        if (ok) this.files += 1;
        else this.failed = true;
        this.render();
        if (!this.busy) this.onSettled({ ok: !this.failed });
      });
  }

  // --- the indicator: a red dot while recording, MB uploaded, chunks waiting ------------
  tick() {
    if (this.timer) return;
    this.timer = window.setInterval(() => {
      this.render();
      if (!this.busy) {
        window.clearInterval(this.timer);
        this.timer = null;
      }
    }, INDICATOR_MS);
  }

  render() {
    const active = [this.current?.recorder, ...this.finishing].filter(Boolean);
    const uploaded = this.uploadedBefore + active.reduce((sum, r) => sum + (r.offset || 0), 0);
    const recorded = this.recordedBefore + active.reduce((sum, r) => sum + (r.recorded || 0), 0);
    const pendingChunks = active.reduce(
      (sum, r) => sum + (r.pending?.size ? Math.ceil(r.pending.size / (r.chunkSize || r.pending.size)) : 0),
      0,
    );
    let state = "idle";
    let text = "";
    if (this.current) {
      state = "recording";
      text = "REC";
    } else if (this.finishing.length) {
      state = "uploading";
      text = "Finishing upload";
    } else if (this.failed) {
      state = "failed";
      text = "Local recording incomplete";
    } else if (this.files) {
      state = "done";
      text = "Local recording uploaded";
    }
    const detail = state === "idle" ? "" : `${(uploaded / MB).toFixed(1)} MB · ${pendingChunks} pending`;
    for (const box of this.indicators) {
      if (!box) continue;
      box.hidden = state === "idle";
      box.dataset.state = state;
      box.dataset.uploaded = String(uploaded);
      box.dataset.pending = String(pendingChunks);
      box.dataset.recorded = String(recorded);
      box.dataset.sessionMs = String(Math.round(this.sessionMs));
      box.title = "Your own camera and microphone, recorded at full quality in this browser and uploaded as the show runs.";
      const label = box.querySelector(".local-rec-text") || box;
      label.textContent = detail ? `${text} · ${detail}` : text;
    }
  }
}
