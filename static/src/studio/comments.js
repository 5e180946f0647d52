// The audience comments panel (templates/engagement/_panel.html), kept live over its own
// websocket, ws/streams/<id>/comments/ (apps/engagement/consumers.py, ModerationConsumer).
// Used by the host's studio (studio.js) and a moderator's guest page (guest.js).
//
// Why a second socket rather than comment.* events on the studio socket:
//   - Who may see comments is the moderation rule (host and moderator seats,
//     apps/engagement/access.py), checked once when the socket connects. A plain guest's
//     comments socket is refused (4403) and their studio socket never carries a comment,
//     so no per-event role filter can leak a held or hidden comment to them.
//   - Chat bursts (1,000 comments/s) must not queue behind scene, health and chat events on
//     the studio socket, nor cost the channel layer one message per socket: the consumer
//     gets each event once per web process and writes the same text frame to every socket.
//   - The panel works on any page that includes it.
//
// Flow: on every (re)connect, load the feed as JSON (the panel URL with ?format=json and the
// current filters), holding back the events that arrive meanwhile, then apply those and every
// later event to the rows. So a web or Redis restart costs a reconnect and a reload, like the
// studio socket's state.full. No polling. Actions are POSTed to the same views the HTMX panel
// uses; the rows change when the resulting comment.* events come back (to every moderator).
//
// CSP: no inline code or styles; rows are built with DOM calls, text through textContent.
import "./comments.css";

import { StudioSocket, csrfToken, el, toast } from "./common.js";

// Rows kept in the page: enough to moderate a busy chat without an unbounded DOM.
const MAX_ROWS = 200;
// After a failed reload, try again this soon (the socket may still be up).
const RESYNC_RETRY_MS = 3000;
const STATUS_LABELS = { pending: "Pending", approved: "Approved", hidden: "Hidden" };
const PLATFORM_LABELS = {
  youtube: "YouTube",
  twitch: "Twitch",
  facebook: "Facebook",
  studio: "Studio chat",
  custom: "Custom source",
};
const BAN_QUESTION = "Ban this author from all your shows on this platform?";
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function createdMs(comment) {
  if (comment._t === undefined) comment._t = Date.parse(comment.created_at) || 0;
  return comment._t;
}

// > 0 when a is listed above b: pinned first, then newest first (as apps/engagement/selectors.py).
function compare(a, b) {
  return Number(a.pinned) - Number(b.pinned) || createdMs(a) - createdMs(b) || a.id - b.id;
}

export class CommentsPanel {
  constructor(section) {
    this.streamId = section.dataset.streamId;
    this.panelId = section.id;
    this.panelUrl = section.dataset.panelUrl;
    this.offScreenUrl = section.dataset.offScreenUrl;
    this.comments = new Map(); // id → payload, the rows shown
    this.statuses = new Map(); // id → status of every comment seen, for the pending count
    this.queued = new Set(); // ids waiting in the rolling card queue
    this.pending = 0;
    this.card = null;
    this.hideTimer = null;
    this.syncing = false;
    this.buffer = [];
    this.generation = 0;
    this.retryTimer = null;
    this.status = "connecting";

    document.addEventListener("click", (event) => this.onClick(event));
    document.addEventListener("change", (event) => {
      if (event.target.closest?.("[data-comments-filter]") && this.section?.contains(event.target)) this.resync();
    });
    document.addEventListener("submit", (event) => {
      if (event.target.matches?.("[data-comments-filter]") && this.section?.contains(event.target)) {
        event.preventDefault();
        this.resync();
      }
    });
    // Saving the moderation mode re-renders the whole panel (htmx): fill its feed again.
    document.addEventListener("htmx:load", (event) => {
      if (event.detail?.elt?.id === this.panelId) this.resync();
    });

    this.socket = new StudioSocket(section.dataset.wsPath, {
      onMessage: (message) => this.onEvent(message),
      onStatus: (status) => {
        this.status = status;
        if (this.section) this.section.dataset.live = status;
        if (status === "open") this.resync();
      },
      onFatal: (_code, text) => toast(`Comments: ${text}`, "error"),
    });
  }

  get section() {
    return document.getElementById(this.panelId);
  }

  get feed() {
    return document.getElementById(`comments-feed-${this.streamId}`);
  }

  filters() {
    const value = (name) => this.section?.querySelector(`[data-comments-filter] select[name="${name}"]`)?.value || "";
    return { platform: value("platform"), status: value("status") };
  }

  matches(comment) {
    const { platform, status } = this.filters();
    return (!platform || comment.platform === platform) && (!status || comment.status === status);
  }

  // --- load the feed (on connect, reconnect, filter change) ---------------------------------
  async resync() {
    const generation = ++this.generation;
    window.clearTimeout(this.retryTimer);
    this.syncing = true;
    this.buffer = [];
    if (this.section) {
      // A re-rendered panel (mode saved) is a new element: it learns the socket's state here.
      this.section.dataset.live = this.status;
      this.section.dataset.synced = "false";
    }
    const { platform, status } = this.filters();
    const query = new URLSearchParams({ format: "json", platform, status });
    try {
      const response = await fetch(`${this.panelUrl}?${query}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const data = await response.json();
      if (generation !== this.generation) return; // a newer reload is on its way
      this.comments = new Map(data.comments.map((c) => [c.id, c]));
      for (const c of data.comments) this.statuses.set(c.id, c.status);
      this.pending = data.pending_count;
      this.setCard(data.card);
      this.renderFeed();
    } catch (error) {
      if (generation !== this.generation) return;
      toast(`Comments could not be loaded (${error.message}); retrying…`, "warning");
      this.retryTimer = window.setTimeout(() => this.resync(), RESYNC_RETRY_MS);
    }
    // Events that arrived while loading are newer than (or as new as) what was loaded: apply them now.
    const held = this.buffer;
    this.syncing = false;
    this.buffer = [];
    for (const message of held) this.apply(message);
    if (this.section) this.section.dataset.synced = "true";
  }

  // --- events -----------------------------------------------------------------------------
  onEvent(message) {
    if (message.type === "comment.batch") {
      // Events the server had waiting, sent as one frame (apps/engagement/consumers.py): in order.
      for (const event of message.events) this.onEvent(event);
      return;
    }
    if (this.syncing) this.buffer.push(message);
    else this.apply(message);
  }

  apply(message) {
    switch (message.type) {
      case "comment.created":
        this.upsert(message.comment, true);
        break;
      case "comment.created_many":
        for (const comment of message.comments) this.upsert(comment, true);
        break;
      case "comment.updated":
        this.upsert(message.comment, false);
        break;
      case "comment.on_screen":
        this.queued.delete(message.comment.id);
        this.clearOnScreen(message.comment.id);
        this.upsert({ ...message.comment, on_screen: true }, false);
        this.setCard(message.card);
        break;
      case "comment.off_screen":
        this.clearOnScreen(null);
        this.setCard(null);
        break;
      case "comment.queued":
        this.queued.add(message.comment.id);
        this.upsert(message.comment, false);
        break;
      case "comment.author_banned":
        // Their comments arrive hidden as comment.updated events; this only says so.
        toast("Author banned: their comments are hidden from all your shows.", "info");
        break;
      default:
        break;
    }
  }

  clearOnScreen(exceptId) {
    for (const comment of this.comments.values()) {
      if (comment.on_screen && comment.id !== exceptId) this.upsert({ ...comment, on_screen: false }, false);
    }
  }

  setCard(card) {
    window.clearTimeout(this.hideTimer);
    this.card = card || null;
    const seconds = card?.auto_hide_seconds || 0;
    if (!card || seconds <= 0) return;
    // The compositor hides the card by itself at shown_at + auto_hide: follow it here.
    const delay = (card.shown_at + seconds) * 1000 - Date.now();
    this.hideTimer = window.setTimeout(() => this.clearOnScreen(null), Math.max(0, delay));
  }

  upsert(comment, isNew) {
    const before = this.statuses.get(comment.id);
    if (before === "pending" && comment.status !== "pending") this.pending -= 1;
    else if (comment.status === "pending" && before !== "pending" && (isNew || before !== undefined)) this.pending += 1;
    this.statuses.set(comment.id, comment.status);
    this.renderPending();

    const feed = this.feed;
    const row = feed?.querySelector(`#comment-${comment.id}`);
    if (!this.matches(comment)) {
      this.comments.delete(comment.id);
      row?.remove();
      if (feed && !this.comments.size) this.renderFeed();
      return;
    }
    if (!isNew && !this.comments.has(comment.id) && this.comments.size >= MAX_ROWS) return; // an old one, off the list
    this.comments.set(comment.id, comment);
    const list = feed?.querySelector("ul.list");
    if (!list) {
      this.renderFeed();
      return;
    }
    row?.remove();
    this.insert(list, this.rowFor(comment), comment);
    while (list.children.length > MAX_ROWS) {
      const last = list.lastElementChild;
      this.comments.delete(Number(last.dataset.commentId));
      last.remove();
    }
  }

  insert(list, row, comment) {
    // New comments are the newest: the place is right after the pinned one, found in a step or two.
    for (const other of list.children) {
      const shown = this.comments.get(Number(other.dataset.commentId));
      if (shown && compare(comment, shown) > 0) {
        list.insertBefore(row, other);
        return;
      }
    }
    list.append(row);
  }

  // --- rendering ----------------------------------------------------------------------------
  renderPending() {
    const badge = document.getElementById(`comments-pending-${this.streamId}`);
    if (badge) badge.textContent = `${Math.max(0, this.pending)} waiting for review`;
  }

  renderFeed() {
    const feed = this.feed;
    if (!feed) return;
    this.renderPending();
    const toolbar = el(
      "div",
      { className: "row" },
      el("button", {
        type: "button",
        className: "btn btn-sm",
        "data-comment-action": "off-screen",
        text: "Take comment off screen",
      }),
    );
    const sorted = [...this.comments.values()].sort((a, b) => compare(b, a)).slice(0, MAX_ROWS);
    if (!sorted.length) {
      feed.replaceChildren(
        toolbar,
        el(
          "div",
          { className: "empty empty-sm" },
          el("h3", { text: "No comments yet" }),
          el("p", {
            text: "Comments from YouTube, Twitch, Facebook and the studio chat appear here as they arrive.",
          }),
        ),
      );
      return;
    }
    feed.replaceChildren(
      toolbar,
      el("ul", { className: "list", id: `comment-list-${this.streamId}` }, sorted.map((c) => this.rowFor(c))),
    );
  }

  rowFor(c) {
    const actions = el("div", { className: "row-actions" });
    const button = (action, label, danger = false) =>
      actions.append(
        el("button", {
          type: "button",
          className: danger ? "btn btn-sm btn-danger" : "btn btn-sm",
          "data-comment-action": action,
          text: label,
        }),
      );
    if (c.status !== "approved") button("approve", "Approve");
    if (c.status !== "hidden") {
      button("hide", "Hide");
      if (c.on_screen) button("off-screen", "Take off screen");
      else {
        button("show", "Show on screen");
        button("queue", "Queue");
      }
      button(c.pinned ? "unpin" : "pin", c.pinned ? "Unpin" : "Pin");
    }
    if (c.author_id && c.platform !== "studio") button("ban", "Ban author", true);

    const when = new Date(c.created_at);
    const meta = el(
      "div",
      { className: "row-meta" },
      el("span", { className: `platform platform-${c.platform}`, text: PLATFORM_LABELS[c.platform] || c.platform }),
      el("span", { className: `badge badge-${c.status}`, text: STATUS_LABELS[c.status] || c.status }),
      c.moderation_reason ? el("span", { className: "muted small", text: c.moderation_reason }) : null,
      c.pinned ? el("span", { className: "badge badge-active", text: "Pinned" }) : null,
      c.on_screen ? el("span", { className: "badge badge-live", text: "On screen" }) : null,
      !c.on_screen && this.queued.has(c.id) ? el("span", { className: "badge", text: "Queued" }) : null,
      el("time", { title: when.toString(), text: Number.isNaN(when.valueOf()) ? "" : timeFormat.format(when) }),
    );
    meta.lastElementChild.dateTime = c.created_at;
    return el(
      "li",
      {
        className: c.pinned ? "list-row is-active" : "list-row",
        id: `comment-${c.id}`,
        "data-comment-id": c.id,
        "data-status": c.status,
        "data-platform": c.platform,
        "data-on-screen": String(Boolean(c.on_screen)),
      },
      // Platform avatars live on other hosts, which the page CSP (img-src 'self') does not load: initials.
      el("span", { className: "avatar", "aria-hidden": "true", text: c.author_initial || "?" }),
      el(
        "div",
        { className: "row-main" },
        el("span", { className: "row-title" }, el("span", { dir: "auto", text: c.author_name })),
        el("p", { className: "comment-text", dir: "auto", text: c.text }),
        meta,
      ),
      actions,
    );
  }

  // --- actions: the same views as the HTMX panel; the events that follow update the rows -----
  async onClick(event) {
    const button = event.target.closest?.("[data-comment-action]");
    if (!button || !this.section?.contains(button)) return;
    event.preventDefault();
    const action = button.dataset.commentAction;
    const row = button.closest("[data-comment-id]");
    if (action !== "off-screen" && !row) return;
    if (action === "ban" && !window.confirm(BAN_QUESTION)) return;
    const url = action === "off-screen" ? this.offScreenUrl : `${this.panelUrl}${row.dataset.commentId}/${action}/`;
    button.disabled = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      });
      if (!response.ok) {
        // The views answer 422 with the row, whose .errorlist says why.
        const html = await response.text();
        const reason = new DOMParser().parseFromString(html, "text/html").querySelector(".errorlist")?.textContent;
        toast(reason || `That did not work (the server answered ${response.status}).`, "error");
      } else if (this.status !== "open") {
        // No live events right now: reload so the panel still shows what happened.
        this.resync();
      }
    } catch {
      toast("The server cannot be reached; try again in a moment.", "error");
    } finally {
      button.disabled = false;
    }
  }
}

// One live panel per [data-comments-panel] on the page (none for a plain guest).
export function startCommentsPanels() {
  return [...document.querySelectorAll("[data-comments-panel]")].map((section) => new CommentsPanel(section));
}
