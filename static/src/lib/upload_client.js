// The resumable upload protocol (apps/library/upload_protocol.py), for every upload on the site:
// library clips and brand images from a file (upload.js), local recordings as they grow
// (upload_recorder.js). A session is created first; chunks go with their offset in Upload-Offset;
// a 409 says where the server stands; HEAD asks the same after a network error.

import { csrfToken, errorText } from "./http.js";

export const UPLOADS_API = "/api/v1/uploads/";

export class UploadSession {
  constructor({ id, url, offset = 0, chunkSize = 0 }) {
    this.id = id;
    this.url = url || `${UPLOADS_API}${id}/`;
    this.offset = offset;
    this.chunkSize = chunkSize;
  }

  // POST the session's description (purpose, size, filename, title, stream) to `createUrl`.
  static async create(body, createUrl = UPLOADS_API) {
    const response = await fetch(createUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const session = await response.json();
    return new UploadSession({
      id: session.id,
      url: session.url,
      offset: session.offset,
      chunkSize: session.chunk_size,
    });
  }

  // The bytes the server holds (HEAD); throws when the session is gone.
  async serverOffset() {
    const response = await fetch(this.url, { method: "HEAD", credentials: "same-origin" });
    if (!response.ok) throw new Error("gone");
    return Number(response.headers.get("Upload-Offset"));
  }

  async info() {
    const response = await fetch(this.url, { credentials: "same-origin" });
    return response.ok ? response.json() : null;
  }

  // PATCH one chunk at `offset` (and the total on the last one). Returns a Response, or null when the
  // request did not reach the server; the caller decides how to go on. With `onSent(bytes)`, the bytes
  // of this chunk that have left so far are reported as they go (XMLHttpRequest: fetch cannot tell),
  // so a bar moves smoothly even when one chunk is a large part of the file.
  async sendChunk(offset, blob, totalLength = null, onSent = null) {
    const headers = {
      "Content-Type": "application/offset+octet-stream",
      "Upload-Offset": String(offset),
      "X-CSRFToken": csrfToken(),
    };
    if (totalLength !== null) headers["Upload-Length"] = String(totalLength);
    if (onSent) return sendWithProgress(this.url, headers, blob, onSent);
    try {
      return await fetch(this.url, { method: "PATCH", credentials: "same-origin", headers, body: blob });
    } catch {
      return null;
    }
  }
}

function sendWithProgress(url, headers, blob, onSent) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", url);
    xhr.withCredentials = true;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => onSent(event.loaded));
    xhr.addEventListener("load", () => {
      const responseHeaders = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(":");
        if (at > 0) responseHeaders.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      const empty = xhr.status === 204 || xhr.status === 205 || xhr.status === 304;
      resolve(new Response(empty ? null : xhr.responseText, { status: xhr.status, headers: responseHeaders }));
    });
    xhr.addEventListener("error", () => resolve(null));
    xhr.addEventListener("abort", () => resolve(null));
    xhr.send(blob);
  });
}
