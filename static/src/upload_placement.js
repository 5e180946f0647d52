// Brand kit live preview: places each asset layer on the 16:9 canvas from its
// data-* values, and moves it as the placement sliders move (before htmx saves
// the change). The CSP forbids style attributes in markup, so positions are set
// through the CSSOM here.

function place(layer) {
  const canvas = layer.parentElement;
  const x = Number(layer.dataset.x || 0);
  const y = Number(layer.dataset.y || 0);
  const scale = Number(layer.dataset.scale || 0.15);
  layer.style.left = `${x * 100}%`;
  layer.style.top = `${y * 100}%`;
  layer.style.width = `${scale * 100}%`;
  layer.style.opacity = String(layer.dataset.opacity ?? 1);
  if (canvas) canvas.dataset.ready = "1";
}

// The program's own background when the kit has no background image (media/scene/layout.py
// Options.background_colour): the primary colour belongs to the name tag and the banner, not the canvas.
const PROGRAM_BACKGROUND = "#101018";

function paintCanvas(canvas) {
  canvas.style.backgroundColor = PROGRAM_BACKGROUND;
  const tag = canvas.querySelector(".brand-nametag");
  if (tag) {
    tag.style.backgroundColor = canvas.dataset.primary || "#222";
    tag.style.color = canvas.dataset.accent || "#fff";
    tag.style.fontFamily = `"${canvas.dataset.font || "sans-serif"}", sans-serif`;
  }
  canvas.querySelectorAll(".brand-layer").forEach(place);
}

function onSlide(event) {
  const form = event.target.closest("form[data-placement-for]");
  if (!form) return;
  const layer = document.getElementById(`brand-layer-${form.dataset.placementFor}`);
  if (!layer) return;
  layer.dataset[event.target.name] = event.target.value;
  place(layer);
}

// Each slider says its value beside its name, as it moves.
function showValue(event) {
  const form = event.target.closest("form[data-placement-for]");
  const output = form?.querySelector(`output[data-value-of="${event.target.name}"]`);
  if (output) output.textContent = Number(event.target.value).toFixed(2);
}

function init() {
  const canvas = document.getElementById("brand-canvas");
  if (!canvas) return;
  paintCanvas(canvas);
  document.addEventListener("input", onSlide);
  document.addEventListener("input", showValue);
  // Colour pickers preview the kit before it is saved.
  document.querySelectorAll('input[name="primary_colour"], input[name="accent_colour"], input[name="font"]').forEach((input) => {
    input.addEventListener("input", () => {
      const key = { primary_colour: "primary", accent_colour: "accent", font: "font" }[input.name];
      canvas.dataset[key] = input.value;
      paintCanvas(canvas);
    });
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
