// Local per-participant recording: MediaRecorder on this browser's own camera
// and microphone, uploaded in fixed-size chunks while the show runs.
//
//   const rec = new StreamUsLocalRecorder(mediaStream, { streamId: 42, title: "Ana (local)" });
//   await rec.start();
//   ...
//   const result = await rec.stop();   // { recording: <id>, offset, … }
//
// The host records through the API; a studio guest (no account) passes
// `createUrl: "/library/guest-uploads/<stream id>/"` and is known by the seat
// their invite link put in the session.
//
// The upload session is created without a size (the recording is still
// growing); full chunks go out as they fill, and the last, shorter one carries
// Upload-Length, which assembles the file on the server. A failed request is
// retried after asking the server for its offset, so a network drop loses
// nothing: the bytes wait in memory until they are accepted.

import { sleep } from "./lib/http.js";
import { UPLOADS_API, UploadSession } from "./lib/upload_client.js";

const RETRIES = 10;

function pickMimeType() {
  const candidates = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"];
  return candidates.find((type) => window.MediaRecorder?.isTypeSupported(type)) || "";
}

export class LocalRecorder {
  constructor(
    mediaStream,
    { streamId, title = "", createUrl = UPLOADS_API, mimeType = pickMimeType(), timesliceMs = 1000, bitsPerSecond } = {},
  ) {
    this.mediaStream = mediaStream;
    this.createUrl = createUrl;
    this.streamId = streamId;
    this.title = title;
    this.mimeType = mimeType;
    this.timesliceMs = timesliceMs;
    this.bitsPerSecond = bitsPerSecond;
    this.pending = new Blob([]); // recorded, not yet accepted by the server
    this.offset = 0; // bytes the server holds
    this.recorded = 0; // bytes MediaRecorder produced so far
    this.sending = Promise.resolve();
    this.result = null;
    this.error = null;
  }

  get extension() {
    return this.mimeType.startsWith("video/mp4") ? "mp4" : "webm";
  }

  // Recording starts at once; the upload session is opened meanwhile, so a slow server
  // does not cut the first seconds of the show (the bytes wait in `pending`).
  async start() {
    const options = this.mimeType ? { mimeType: this.mimeType } : {};
    if (this.bitsPerSecond) options.bitsPerSecond = this.bitsPerSecond;
    this.recorder = new MediaRecorder(this.mediaStream, options);
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) {
        this.recorded += event.data.size;
        this.pending = new Blob([this.pending, event.data]);
        this.queue(false);
      }
    });
    this.recorder.start(this.timesliceMs);
    let session = null;
    try {
      session = await UploadSession.create(
        { purpose: "participant", stream: this.streamId, filename: `local.${this.extension}`, title: this.title },
        this.createUrl,
      );
    } catch (error) {
      this.recorder.stop();
      throw new Error(`Could not start the local recording (${error.message}).`);
    }
    this.session = session;
    this.id = session.id;
    this.url = session.url;
    this.chunkSize = session.chunkSize;
    this.queue(false); // what was recorded while the session was being opened
  }

  // Serialise sends: one request at a time, in order.
  queue(final) {
    this.sending = this.sending.then(() => this.flush(final)).catch((error) => {
      this.error = error;
    });
    return this.sending;
  }

  async flush(final) {
    if (!this.url) return; // no upload session yet: start() flushes once it has one
    for (;;) {
      if (this.pending.size >= this.chunkSize) {
        await this.send(this.pending.slice(0, this.chunkSize), null);
      } else if (final && !this.result) {
        await this.send(this.pending, this.offset + this.pending.size);
      } else {
        return;
      }
    }
  }

  // Sends one chunk; returns once the server holds it (or told us where it stands).
  async send(chunk, totalLength) {
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.session.sendChunk(this.offset, chunk, totalLength);
      if (response && response.ok) {
        const body = await response.json();
        this.pending = this.pending.slice(body.offset - this.offset);
        this.offset = body.offset;
        if (body.status === "complete") this.result = body;
        return;
      }
      if (response && response.status === 409) {
        // The server holds more (or less) than we thought: realign and resend from there.
        const held = Number(response.headers.get("Upload-Offset"));
        this.pending = this.pending.slice(held - this.offset);
        this.offset = held;
        return; // flush() decides what to send next from the new offset
      }
      if (response && response.status === 410 && totalLength !== null) {
        // The last chunk arrived but its answer was lost: the upload is already assembled.
        const body = await this.session.info().catch(() => null);
        if (body && body.status === "complete") {
          this.pending = new Blob([]);
          this.offset = body.offset;
          this.result = body;
          return;
        }
      }
      if (response && response.status < 500 && response.status !== 429) {
        throw new Error(`The local recording upload was refused (${response.status}).`);
      }
      if (attempt >= RETRIES) throw new Error("The local recording could not be uploaded.");
      await sleep(Math.min(30000, 500 * 2 ** attempt));
    }
  }

  async stop() {
    if (this.recorder && this.recorder.state !== "inactive") {
      const stopped = new Promise((resolve) => this.recorder.addEventListener("stop", resolve, { once: true }));
      this.recorder.stop();
      await stopped;
    }
    await this.queue(true);
    // An earlier chunk may have failed and been sent again with a later one: only the end counts.
    if (this.error && !this.result) throw this.error;
    return this.result;
  }
}

window.StreamUsLocalRecorder = LocalRecorder;
