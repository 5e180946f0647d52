// Custom positions by hand, over the studio's program preview.
//
// The editor lays one handle box over each person's tile of the scene graph (the same JSON the
// compositor draws). A box moves when dragged, resizes from its corners, snaps to the canvas
// edges, the centre lines and the other people's edges and centres, and keeps its proportions
// unless "Keep proportions" is off. Pointer events, so a mouse, a pen and a finger all work
// (touch-action: none on the boxes keeps the page from scrolling under a finger). A focused box
// moves with the arrow keys (Shift: further) and grows or shrinks with + and − (or Alt+arrows).
//
// Positions are fractions of the canvas [x, y, w, h] and go to the server as a `scene.set`
// with layout "custom" (apps/studio/scene.py `scene_set`), the one path for every scene change:
// sent a few times a second while dragging, and once more on release, so the program on air
// follows the hand. While a box moves, the preview draws that person at the box at once
// (ProgramRenderer.overrides), before the server's scene comes back.

import { el } from "./common.js";

const SNAP_PX = 8; // how close (screen pixels) an edge must come to a guide to stick to it
const MIN_SIZE = 0.06; // smallest box, fraction of the canvas width
const SEND_EVERY_MS = 150; // while dragging: the program follows at about this pace
const NUDGE = 0.01; // arrow key: 1 % of the canvas
const NUDGE_BIG = 0.05; // Shift+arrow
const CORNERS = ["nw", "ne", "sw", "se"];
const MAX_PENDING = 32; // sent edits remembered until their echo (a drag sends about 7 a second)

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const round = (v) => Math.round(v * 10000) / 10000;
const percent = (v) => `${Math.round(v * 100)}%`;

// Fractions [x, y, w, h] of each person's tile in a scene graph (video layers only: a screen share is not placed by hand).
export function graphPositions(graph) {
  const positions = {};
  if (!graph) return positions;
  for (const layer of graph.layers || []) {
    if (layer.kind !== "video" || !layer.source) continue;
    const r = layer.rect;
    positions[layer.source] = [r.x / graph.width, r.y / graph.height, r.w / graph.width, r.h / graph.height].map(round);
  }
  return positions;
}

// The server draws each box at even pixels, rounded down (media/scene/layout.py `_rect`): up to 2 px off.
const ECHO_PX = 2.5;

// Whether a graph's positions are the ones sent (within the server's pixel snapping; an arrow press is 1 %,
// 8 px or more, so two different edits never pass for each other).
export function samePositions(sent, incoming, graph) {
  const ids = Object.keys(sent);
  if (ids.length !== Object.keys(incoming).length) return false;
  const tx = ECHO_PX / graph.width;
  const ty = ECHO_PX / graph.height;
  return ids.every((id) => {
    const a = sent[id];
    const b = incoming[id];
    return Boolean(b) && [tx, ty, tx, ty].every((t, i) => Math.abs(a[i] - b[i]) <= t);
  });
}

// Stick the box's edges (and centre) to the nearest guide within `tx`/`ty` (fractions). Returns the box and the guides used.
export function snapBox(box, others, { tx, ty, edges = { x: ["start", "centre", "end"], y: ["start", "centre", "end"] } }) {
  const [x, y, w, h] = box;
  const guidesX = [0, 0.5, 1];
  const guidesY = [0, 0.5, 1];
  for (const [ox, oy, ow, oh] of others) {
    guidesX.push(ox, ox + ow / 2, ox + ow);
    guidesY.push(oy, oy + oh / 2, oy + oh);
  }
  const best = (points, guides, threshold) => {
    let found = null;
    for (const [name, value] of points) {
      for (const guide of guides) {
        const d = guide - value;
        if (Math.abs(d) <= threshold && (!found || Math.abs(d) < Math.abs(found.d))) found = { d, guide, name };
      }
    }
    return found;
  };
  const pick = (start, size, names) =>
    names.map((n) => [n, n === "start" ? start : n === "centre" ? start + size / 2 : start + size]);
  const sx = best(pick(x, w, edges.x), guidesX, tx);
  const sy = best(pick(y, h, edges.y), guidesY, ty);
  return { dx: sx ? sx.d : 0, dy: sy ? sy.d : 0, gx: sx ? sx.guide : null, gy: sy ? sy.guide : null, sx, sy };
}

export class LayoutEditor {
  // wrap: the preview's box (the editor fills it); renderer: ProgramRenderer; send(message); names(): id → name.
  constructor({ wrap, renderer, send, names, announce, keepRatio }) {
    this.wrap = wrap;
    this.renderer = renderer;
    this.send = send;
    this.names = names;
    this.announce = announce || (() => {});
    this.keepRatio = keepRatio; // a checkbox: "Keep proportions"
    this.active = false;
    this.graph = null;
    this.positions = {}; // id → [x, y, w, h], what the boxes show
    this.pending = []; // positions sent and not yet seen back from the server, oldest first
    this.drag = null;
    this.lastSent = 0;
    this.sendTimer = null;
    this.selected = null;
    this.layer = el("div", { className: "st-editor", id: "layout-editor", role: "group", "aria-label": "Arrange people by hand" });
    this.guideX = el("div", { className: "st-guide st-guide-x", "aria-hidden": "true" });
    this.guideY = el("div", { className: "st-guide st-guide-y", "aria-hidden": "true" });
    this.help = el("p", {
      className: "sr-only",
      id: "layout-editor-help",
      text: "Drag to move, drag a corner to resize. With the keyboard: arrow keys move, Shift moves further, plus and minus resize.",
    });
    this.layer.append(this.guideX, this.guideY, this.help);
    this.layer.hidden = true;
    wrap.append(this.layer);
  }

  setActive(on) {
    this.active = Boolean(on);
    this.layer.hidden = !this.active;
    this.wrap.classList.toggle("is-arranging", this.active);
    if (!this.active) {
      this.drag = null;
      this.renderer.overrides.clear();
    }
    this.render();
  }

  // A new scene graph from the server: boxes follow it, unless the host is holding one, or it is the echo of
  // an edit of ours that newer edits have already gone past (three quick arrow presses: the echo of the
  // first must not move the box back under the second and third).
  update(graph) {
    this.graph = graph;
    if (this.drag) return;
    const incoming = graphPositions(graph);
    const echoed = this.pending.findIndex((sent) => samePositions(sent, incoming, graph));
    if (echoed >= 0) {
      this.pending.splice(0, echoed + 1);
      if (this.pending.length) return;
    } else {
      this.pending = []; // someone else's change (or ours refused): the server's picture wins
    }
    // The server draws at even pixels: a graph within that of what the boxes show keeps the boxes' exact
    // fractions, so that three presses right and three left land where they started.
    if (!samePositions(this.positions, incoming, graph)) this.positions = incoming;
    this.renderer.overrides.clear();
    this.render();
  }

  render() {
    if (!this.active) return;
    const existing = new Map([...this.layer.querySelectorAll(".st-edit-tile")].map((node) => [node.dataset.source, node]));
    const order = Object.keys(this.positions);
    for (const id of order) {
      let node = existing.get(id);
      existing.delete(id);
      if (!node) node = this.makeTile(id);
      this.place(node, this.positions[id]);
    }
    for (const node of existing.values()) node.remove();
  }

  makeTile(id) {
    const name = this.names(id) || "Someone";
    const node = el(
      "div",
      {
        className: "st-edit-tile",
        role: "button",
        "data-source": id,
        "aria-describedby": "layout-editor-help",
        "aria-roledescription": "movable tile",
      },
      el("span", { className: "st-edit-name", text: name, "aria-hidden": "true" }),
      ...CORNERS.map((corner) =>
        el("span", { className: `st-edit-handle st-edit-${corner}`, "data-corner": corner, "aria-hidden": "true" }),
      ),
    );
    node.tabIndex = 0;
    node.addEventListener("pointerdown", (event) => this.start(event, node));
    node.addEventListener("keydown", (event) => this.key(event, node));
    node.addEventListener("focus", () => this.select(id));
    this.layer.append(node);
    return node;
  }

  place(node, [x, y, w, h]) {
    node.style.left = `${x * 100}%`;
    node.style.top = `${y * 100}%`;
    node.style.width = `${w * 100}%`;
    node.style.height = `${h * 100}%`;
    const name = this.names(node.dataset.source) || "Someone";
    node.setAttribute(
      "aria-label",
      `${name}: left ${percent(x)}, top ${percent(y)}, ${percent(w)} wide, ${percent(h)} high`,
    );
    node.querySelector(".st-edit-name").textContent = name;
  }

  select(id) {
    this.selected = id;
    for (const node of this.layer.querySelectorAll(".st-edit-tile")) {
      node.classList.toggle("is-selected", node.dataset.source === id);
    }
  }

  // The canvas's aspect (width / height in pixels), so "keep proportions" keeps the picture's shape.
  canvasAspect() {
    return this.graph ? this.graph.width / this.graph.height : 16 / 9;
  }

  start(event, node) {
    if (event.button !== undefined && event.button !== 0) return;
    event.preventDefault();
    node.focus({ preventScroll: true });
    const id = node.dataset.source;
    const bounds = this.layer.getBoundingClientRect();
    this.drag = {
      id,
      node,
      corner: event.target.dataset?.corner || null,
      startX: event.clientX,
      startY: event.clientY,
      box: [...this.positions[id]],
      bounds,
      pointer: event.pointerId,
    };
    node.setPointerCapture?.(event.pointerId);
    node.classList.add("is-dragging");
    const move = (e) => this.move(e);
    const end = (e) => {
      node.removeEventListener("pointermove", move);
      node.removeEventListener("pointerup", end);
      node.removeEventListener("pointercancel", end);
      this.finish(e);
    };
    node.addEventListener("pointermove", move);
    node.addEventListener("pointerup", end);
    node.addEventListener("pointercancel", end);
  }

  others(id) {
    return Object.entries(this.positions)
      .filter(([other]) => other !== id)
      .map(([, box]) => box);
  }

  move(event) {
    const drag = this.drag;
    if (!drag) return;
    const { bounds } = drag;
    const dx = (event.clientX - drag.startX) / bounds.width;
    const dy = (event.clientY - drag.startY) / bounds.height;
    const tx = SNAP_PX / bounds.width;
    const ty = SNAP_PX / bounds.height;
    let [x, y, w, h] = drag.box;
    let snap;
    if (!drag.corner) {
      x = clamp(x + dx, 0, 1 - w);
      y = clamp(y + dy, 0, 1 - h);
      snap = snapBox([x, y, w, h], this.others(drag.id), { tx, ty });
      x = clamp(x + snap.dx, 0, 1 - w);
      y = clamp(y + snap.dy, 0, 1 - h);
    } else {
      [x, y, w, h] = this.resized(drag.box, drag.corner, dx, dy, tx, ty, drag.id);
      snap = { gx: null, gy: null };
    }
    this.positions[drag.id] = [x, y, w, h].map(round);
    this.place(drag.node, this.positions[drag.id]);
    this.showGuides(snap.gx, snap.gy);
    this.preview(drag.id);
    this.scheduleSend();
  }

  // A box resized from `corner` by (dx, dy), snapped, inside the canvas, proportions kept if asked.
  resized(box, corner, dx, dy, tx, ty, id) {
    const [x0, y0, w0, h0] = box;
    const left = corner.includes("w");
    const top = corner.includes("n");
    let w = Math.max(MIN_SIZE, w0 + (left ? -dx : dx));
    let h = Math.max(MIN_SIZE * this.canvasAspect(), h0 + (top ? -dy : dy));
    // The moving edges snap to guides.
    const right = left ? x0 + w0 : x0 + w;
    const bottom = top ? y0 + h0 : y0 + h;
    const movingX = left ? right - w : right;
    const movingY = top ? bottom - h : bottom;
    const snap = snapBox([movingX, movingY, 0, 0], this.others(id), { tx, ty, edges: { x: ["start"], y: ["start"] } });
    if (snap.sx) w += left ? -snap.dx : snap.dx;
    if (snap.sy) h += top ? -snap.dy : snap.dy;
    if (this.keepRatio?.checked !== false) {
      const ratio = w0 / h0;
      // Follow the dimension the hand moved most, the other keeps the shape.
      if (Math.abs(dx) >= Math.abs(dy) * ratio) h = w / ratio;
      else w = h * ratio;
    }
    // Inside the canvas, anchored at the corner opposite the one held.
    const maxW = left ? x0 + w0 : 1 - x0;
    const maxH = top ? y0 + h0 : 1 - y0;
    if (w > maxW || h > maxH) {
      const shrink = Math.min(maxW / w, maxH / h);
      w *= shrink;
      h *= shrink;
    }
    const x = left ? x0 + w0 - w : x0;
    const y = top ? y0 + h0 - h : y0;
    return [x, y, w, h];
  }

  showGuides(gx, gy) {
    this.guideX.hidden = gx === null || gx === undefined;
    this.guideY.hidden = gy === null || gy === undefined;
    if (!this.guideX.hidden) this.guideX.style.left = `${gx * 100}%`;
    if (!this.guideY.hidden) this.guideY.style.top = `${gy * 100}%`;
  }

  preview(id) {
    if (!this.graph) return;
    const [x, y, w, h] = this.positions[id];
    const { width, height } = this.graph;
    this.renderer.overrides.set(id, { x: x * width, y: y * height, w: w * width, h: h * height });
  }

  finish() {
    const drag = this.drag;
    if (!drag) return;
    drag.node.classList.remove("is-dragging");
    this.showGuides(null, null);
    this.drag = null;
    this.sendNow();
    const [x, y, w, h] = this.positions[drag.id];
    this.announce(`${this.names(drag.id) || "Tile"} at left ${percent(x)}, top ${percent(y)}, ${percent(w)} wide, ${percent(h)} high.`);
  }

  key(event, node) {
    const id = node.dataset.source;
    const box = this.positions[id];
    if (!box) return;
    let [x, y, w, h] = box;
    const step = event.shiftKey ? NUDGE_BIG : NUDGE;
    const grow = event.key === "+" || event.key === "=" || (event.altKey && (event.key === "ArrowRight" || event.key === "ArrowDown"));
    const shrink = event.key === "-" || event.key === "_" || (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowUp"));
    if (grow || shrink) {
      const factor = grow ? 1 + step * 2 : 1 / (1 + step * 2);
      const nw = clamp(w * factor, MIN_SIZE, 1);
      const nh = clamp(nw * (h / w), MIN_SIZE, 1);
      if (nw <= 1 && nh <= 1) {
        x = clamp(x - (nw - w) / 2, 0, 1 - nw);
        y = clamp(y - (nh - h) / 2, 0, 1 - nh);
        w = nw;
        h = nh;
      }
    } else if (event.key === "ArrowLeft") x = clamp(x - step, 0, 1 - w);
    else if (event.key === "ArrowRight") x = clamp(x + step, 0, 1 - w);
    else if (event.key === "ArrowUp") y = clamp(y - step, 0, 1 - h);
    else if (event.key === "ArrowDown") y = clamp(y + step, 0, 1 - h);
    else return;
    event.preventDefault();
    event.stopPropagation();
    this.positions[id] = [x, y, w, h].map(round);
    this.place(node, this.positions[id]);
    this.preview(id);
    this.sendNow();
  }

  scheduleSend() {
    if (this.sendTimer) return;
    const wait = Math.max(0, SEND_EVERY_MS - (Date.now() - this.lastSent));
    this.sendTimer = window.setTimeout(() => {
      this.sendTimer = null;
      if (this.drag) this.sendNow();
    }, wait);
  }

  sendNow() {
    window.clearTimeout(this.sendTimer);
    this.sendTimer = null;
    this.lastSent = Date.now();
    const positions = {};
    for (const [id, [x, y, w, h]] of Object.entries(this.positions)) {
      // The server wants every box inside the canvas: rounding must not push an edge past 1.
      const cw = Math.min(w, 1);
      const ch = Math.min(h, 1);
      positions[id] = [round(clamp(x, 0, 1 - cw)), round(clamp(y, 0, 1 - ch)), round(cw), round(ch)];
    }
    this.pending.push(positions);
    if (this.pending.length > MAX_PENDING) this.pending.shift();
    this.send({ layout: "custom", positions });
  }
}
