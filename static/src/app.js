// StreamUs app bundle: htmx plus the small behaviours every page shares.
//
// The page CSP is `script-src 'self'; style-src 'self'`, so nothing here uses
// eval, inline handlers or style attributes. htmx is configured from the
// `htmx-config` meta tag in base.html (no eval, no indicator <style> tag).
import htmx from "htmx.org";

import { dismissLater, toast } from "./lib/toast.js";

window.htmx = htmx;

const TZ_COOKIE = "streamus_tz";

// --- time zone -------------------------------------------------------------
// The server renders and parses times in the creator's zone when it knows it;
// a cookie is the cheapest way to tell it without an extra request.
function rememberTimeZone() {
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && !document.cookie.split("; ").includes(`${TZ_COOKIE}=${tz}`)) {
      document.cookie = `${TZ_COOKIE}=${tz}; path=/; max-age=31536000; SameSite=Lax`;
    }
  } catch {
    // Old browsers without Intl time zones keep UTC.
  }
}

// Server-rendered Django messages fade out like toasts; errors stay until closed.
function initMessages(root) {
  root.querySelectorAll(".toast[data-autodismiss]").forEach((el) => {
    el.removeAttribute("data-autodismiss");
    dismissLater(el);
  });
}

// --- small behaviours, wired by data attributes ----------------------------
function onClick(event) {
  const copyButton = event.target.closest("[data-copy]");
  if (copyButton) {
    const source = document.getElementById(copyButton.dataset.copy);
    const text = source ? source.value || source.textContent : "";
    navigator.clipboard.writeText(text.trim()).then(
      () => toast("Copied to the clipboard.", "success"),
      () => {
        source?.select?.();
        toast("Press Ctrl+C to copy.", "info");
      },
    );
    return;
  }
  const closeButton = event.target.closest("[data-dismiss]");
  if (closeButton) {
    const target = closeButton.closest(closeButton.dataset.dismiss);
    const parent = target?.parentElement;
    target?.remove();
    // Leave no stray whitespace behind so `:empty` panels collapse again.
    if (parent && !parent.children.length) parent.textContent = "";
    return;
  }
  const menuButton = event.target.closest("[data-menu-toggle]");
  if (menuButton) {
    const menu = document.getElementById(menuButton.dataset.menuToggle);
    const open = menu?.classList.toggle("is-open");
    menuButton.setAttribute("aria-expanded", open ? "true" : "false");
    return;
  }
  // A click anywhere else closes open menus.
  if (!event.target.closest(".user-menu-panel")) closeMenus();
}

function closeMenus() {
  document.querySelectorAll(".user-menu-panel.is-open").forEach((menu) => {
    menu.classList.remove("is-open");
    document.querySelector(`[data-menu-toggle="${menu.id}"]`)?.setAttribute("aria-expanded", "false");
  });
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeMenus();
});

// Times are rendered in UTC ISO in `datetime`; show them in the viewer's words.
const timeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function localiseTimes(root) {
  root.querySelectorAll("time[data-local]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.valueOf())) {
      el.textContent = timeFormat.format(when);
      el.title = when.toString();
    }
  });
}

function enhance(root) {
  localiseTimes(root);
  initMessages(root);
}

// --- htmx wiring -----------------------------------------------------------
document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));

// The server says what happened with an HX-Trigger: {"streamus:toast": {...}}.
document.body.addEventListener("streamus:toast", (event) => {
  const { text, level } = event.detail || {};
  if (text) toast(text, level || "info");
});

document.body.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const text =
    status === 403
      ? "You are not allowed to do that (your session may have expired)."
      : status === 404
        ? "That item no longer exists."
        : status === 429
          ? "Too many attempts, wait a little and try again."
          : `The server answered with an error (${status}). Please try again.`;
  toast(text, "error");
});

// A thin bar at the top while any htmx request is in flight.
let inFlight = 0;
document.body.addEventListener("htmx:beforeRequest", () => {
  inFlight += 1;
  document.body.classList.add("is-loading");
});
document.body.addEventListener("htmx:afterRequest", () => {
  inFlight = Math.max(0, inFlight - 1);
  if (!inFlight) document.body.classList.remove("is-loading");
});

document.body.addEventListener("htmx:sendError", () => {
  toast("The server cannot be reached. Check your connection.", "error");
});

// hx-confirm asks in the app's own dialog, not the browser's grey confirm() box.
function confirmDialog(question) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "st-dialog confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    const form = document.createElement("form");
    form.method = "dialog";
    const text = document.createElement("p");
    text.id = "confirm-dialog-text";
    text.textContent = question;
    const actions = document.createElement("div");
    actions.className = "form-actions";
    const cancel = document.createElement("button");
    cancel.type = "submit";
    cancel.value = "cancel";
    cancel.className = "btn btn-ghost";
    cancel.textContent = "Cancel";
    const ok = document.createElement("button");
    ok.type = "submit";
    ok.value = "ok";
    ok.className = "btn btn-danger";
    ok.textContent = "Yes, go ahead";
    actions.append(cancel, ok);
    form.append(text, actions);
    dialog.append(form);
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    dialog.showModal();
    cancel.focus();
  });
}

document.body.addEventListener("htmx:confirm", (event) => {
  const question = event.detail.question;
  if (!question) return;
  event.preventDefault();
  confirmDialog(question).then((yes) => {
    if (yes) event.detail.issueRequest(true);
  });
});

document.addEventListener("click", onClick);
rememberTimeZone();
enhance(document);
