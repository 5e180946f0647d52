// Toast notifications shared by every bundle (app.js, later studio.js).
const TOAST_MS = 5000;

function toastRegion() {
  let region = document.getElementById("toasts");
  if (!region) {
    region = document.createElement("div");
    region.id = "toasts";
    region.className = "toasts";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.append(region);
  }
  return region;
}

export function dismissLater(el) {
  window.setTimeout(() => {
    el.classList.add("is-leaving");
    window.setTimeout(() => el.remove(), 250);
  }, TOAST_MS);
}

export function toast(text, level = "info") {
  const el = document.createElement("div");
  el.className = `toast toast-${level}`;
  el.textContent = text;
  toastRegion().append(el);
  dismissLater(el);
}
