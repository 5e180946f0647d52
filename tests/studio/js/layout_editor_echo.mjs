// The layout editor against the server's echoes of its own edits, run by tests/studio/test_layout_editor_echo.py
// on the studio's own module (bundled by esbuild for node). Prints one JSON line of what it saw.
import { LayoutEditor } from "./layout_editor.bundle.mjs";

globalThis.window = { clearTimeout() {}, setTimeout() { return 0; } };

const W = 854; // the studio preview's canvas (480p)
const H = 480;
const sent = [];
const editor = Object.create(LayoutEditor.prototype);
Object.assign(editor, {
  positions: { guest: [0.4, 0.1, 0.3, 0.3], host: [0.0, 0.0, 0.3, 0.3] },
  pending: [],
  drag: null,
  graph: null,
  sendTimer: null,
  lastSent: 0,
  renderer: { overrides: new Map() },
  send: (message) => sent.push(message.positions),
  render() {},
  place() {},
  preview() {},
  announce() {},
});

// What the server sends back for an edit: the scene graph, each box at even pixels rounded down
// (media/scene/layout.py `_rect`), up to 2 px from what was sent.
const even = (v) => Math.floor(v / 2) * 2;
const graphOf = (positions) => ({
  width: W,
  height: H,
  layers: Object.entries(positions).map(([source, [x, y, w, h]]) => ({
    kind: "video",
    source,
    rect: { x: even(x * W), y: even(y * H), w: even(w * W), h: even(h * H) },
  })),
});
const press = (key) =>
  editor.key({ key, shiftKey: false, altKey: false, preventDefault() {}, stopPropagation() {} }, { dataset: { source: "guest" } });
const x = () => editor.positions.guest[0];

const seen = {};
press("ArrowRight");
press("ArrowRight");
press("ArrowRight");
press("ArrowLeft");
seen.sent = sent.length;
// The echo of the first press arrives while three newer edits are on their way.
editor.update(graphOf(sent[0]));
seen.afterFirstEcho = x();
press("ArrowLeft");
press("ArrowLeft");
seen.afterPresses = x();
for (const positions of sent.slice(1)) editor.update(graphOf(positions));
seen.afterAllEchoes = x();
seen.pendingAfterAllEchoes = editor.pending.length;
// Someone else (the admin, another tab) moves the guest: the server's picture wins at once.
press("ArrowDown");
editor.update(graphOf({ guest: [0.1, 0.5, 0.3, 0.3], host: [0.0, 0.0, 0.3, 0.3] }));
seen.afterForeign = editor.positions.guest.slice(0, 2);
seen.pendingAfterForeign = editor.pending.length;
console.log(JSON.stringify(seen));
