// Chunked, resumable uploads to /api/v1/uploads/ (tus-like) with a progress bar.
//
//   <form data-chunked-upload data-purpose="clip" data-done-url="/library/">
//     <input type="file" name="file"> <progress hidden></progress> <output></output>
//   </form>
//
// A session is created with the file's size; chunks go with their offset in
// Upload-Offset. After a network error we ask the server for the offset it
// holds (HEAD) and continue from there, so a dropped connection costs at most
// one chunk. The session id is kept in localStorage per file so a reload
// resumes too.

import { errorText, sleep } from "./lib/http.js";
import { UploadSession } from "./lib/upload_client.js";

const RETRIES = 8;

export class ChunkedUpload {
  constructor(file, { purpose = "clip", title = "", stream = null, onProgress = () => {} } = {}) {
    this.file = file;
    this.purpose = purpose;
    this.title = title;
    this.stream = stream;
    this.onProgress = onProgress;
    this.key = `streamus-upload:${purpose}:${file.name}:${file.size}:${file.lastModified}`;
  }

  async create() {
    const saved = localStorage.getItem(this.key);
    if (saved) {
      const session = new UploadSession({ id: saved });
      const offset = await session.serverOffset().catch(() => null);
      if (offset !== null) {
        session.offset = offset;
        return session;
      }
    }
    const session = await UploadSession.create({
      purpose: this.purpose,
      size: this.file.size,
      filename: this.file.name,
      title: this.title,
      stream: this.stream,
    });
    localStorage.setItem(this.key, session.id);
    return session;
  }

  async start() {
    const session = await this.create();
    if (!session.chunkSize) session.chunkSize = (await session.info()).chunk_size;
    let { offset } = session;
    let failures = 0;
    let result = null;
    while (offset < this.file.size) {
      const chunk = this.file.slice(offset, Math.min(offset + session.chunkSize, this.file.size));
      const at = offset;
      const response = await session.sendChunk(offset, chunk, null, (sent) =>
        this.onProgress(Math.min(1, (at + sent) / this.file.size)),
      );
      if (response === null) {
        failures += 1;
        if (failures > RETRIES) throw new Error("The upload could not reach the server.");
        await sleep(Math.min(30000, 500 * 2 ** failures));
        offset = await session.serverOffset().catch(() => offset);
        continue;
      }
      if (response.status === 409) {
        offset = Number(response.headers.get("Upload-Offset"));
        continue;
      }
      if (!response.ok) {
        localStorage.removeItem(this.key);
        throw new Error(await errorText(response));
      }
      failures = 0;
      result = await response.json();
      offset = result.offset;
      this.onProgress(offset / this.file.size);
    }
    localStorage.removeItem(this.key);
    return result;
  }
}

function bind(form) {
  const input = form.querySelector('input[type="file"]');
  const bar = form.querySelector("progress");
  const output = form.querySelector("output");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input?.files?.[0];
    if (!file) return;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    if (output) output.textContent = "Uploading…";
    const upload = new ChunkedUpload(file, {
      purpose: form.dataset.purpose || "clip",
      title: form.querySelector('input[name="title"]')?.value || "",
      onProgress: (fraction) => {
        // Never backwards: a retried chunk starts again from its offset.
        const percent = Math.max(Number(bar?.value || 0), Math.round(fraction * 100));
        if (bar) bar.value = percent;
        if (output) output.textContent = `${percent} % of ${(file.size / 1e6).toFixed(1)} MB`;
      },
    });
    try {
      await upload.start();
      if (output) output.textContent = "Uploaded. Processing…";
      if (form.dataset.doneUrl) window.location.assign(form.dataset.doneUrl);
    } catch (error) {
      if (output) output.textContent = error.message;
      form.classList.add("has-error");
    } finally {
      if (button) button.disabled = false;
    }
  });
}

function init() {
  document.querySelectorAll("form[data-chunked-upload]").forEach(bind);
}

window.StreamUsUpload = ChunkedUpload;
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
