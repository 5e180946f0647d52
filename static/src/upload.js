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

const API = "/api/v1/uploads/";
const RETRIES = 8;

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const headers = document.body?.getAttribute("hx-headers");
  try {
    return JSON.parse(headers || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function errorText(response) {
  try {
    const body = await response.json();
    const messages = Object.values(body).flat();
    return messages.join(" ") || response.statusText;
  } catch {
    return response.statusText;
  }
}

export class ChunkedUpload {
  constructor(file, { purpose = "clip", title = "", stream = null, onProgress = () => {} } = {}) {
    this.file = file;
    this.purpose = purpose;
    this.title = title;
    this.stream = stream;
    this.onProgress = onProgress;
    this.key = `streamus-upload:${purpose}:${file.name}:${file.size}:${file.lastModified}`;
  }

  headers(extra = {}) {
    return { "X-CSRFToken": csrfToken(), ...extra };
  }

  async create() {
    const saved = localStorage.getItem(this.key);
    if (saved) {
      const offset = await this.serverOffset(saved).catch(() => null);
      if (offset !== null) return { id: saved, offset };
    }
    const response = await fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: this.headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        purpose: this.purpose,
        size: this.file.size,
        filename: this.file.name,
        title: this.title,
        stream: this.stream,
      }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const session = await response.json();
    localStorage.setItem(this.key, session.id);
    return { id: session.id, offset: session.offset, chunkSize: session.chunk_size };
  }

  async serverOffset(id) {
    const response = await fetch(`${API}${id}/`, { method: "HEAD", credentials: "same-origin" });
    if (!response.ok) throw new Error("gone");
    return Number(response.headers.get("Upload-Offset"));
  }

  async start() {
    let { id, offset, chunkSize } = await this.create();
    if (!chunkSize) {
      const info = await fetch(`${API}${id}/`, { credentials: "same-origin" }).then((r) => r.json());
      chunkSize = info.chunk_size;
    }
    let failures = 0;
    let result = null;
    while (offset < this.file.size) {
      const chunk = this.file.slice(offset, Math.min(offset + chunkSize, this.file.size));
      let response;
      try {
        response = await fetch(`${API}${id}/`, {
          method: "PATCH",
          credentials: "same-origin",
          headers: this.headers({
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": String(offset),
          }),
          body: chunk,
        });
      } catch (networkError) {
        failures += 1;
        if (failures > RETRIES) throw networkError;
        await sleep(Math.min(30000, 500 * 2 ** failures));
        offset = await this.serverOffset(id).catch(() => offset);
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
        if (bar) bar.value = Math.round(fraction * 100);
        if (output) output.textContent = `${Math.round(fraction * 100)} %`;
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
