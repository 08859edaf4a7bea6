// icons.js: the page's few icons as inline SVG. Glyphs such as U+23F9 (stop) are missing from
// many fonts and showed as a box (issue 18); a path looks the same everywhere.

const NS = "http://www.w3.org/2000/svg";

// 16x16 paths, drawn in currentColor.
const kPaths = {
  play: { fill: "M4 2.5v11l9-5.5z" },
  stop: { fill: "M3.5 3.5h9v9h-9z" },
  steer: { stroke: "M2.5 12.5v-3a4 4 0 0 1 4-4h7M10 2l3.5 3.5L10 9" },
  check: { stroke: "M3 8.5l3.2 3L13 4.5" },
  cross: { stroke: "M4 4l8 8M12 4l-8 8" },
  warn: { stroke: "M8 2.5l6 11H2zM8 6.5v3.5M8 11.8v.2" },
  info: { stroke: "M8 1.8a6.2 6.2 0 1 0 0 12.4A6.2 6.2 0 0 0 8 1.8zM8 7v4.5M8 4.6v.2" },
  close: { stroke: "M4.5 4.5l7 7M11.5 4.5l-7 7" },
};

// An <svg> icon (aria-hidden: the text next to it says the same).
export function icon(name, cls = "") {
  const p = kPaths[name];
  const s = document.createElementNS(NS, "svg");
  s.setAttribute("viewBox", "0 0 16 16");
  s.setAttribute("width", "14");
  s.setAttribute("height", "14");
  s.setAttribute("aria-hidden", "true");
  s.setAttribute("class", ("icon icon-" + name + " " + cls).trim());
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", p.fill || p.stroke);
  if (p.fill) {
    path.setAttribute("fill", "currentColor");
  } else {
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.8");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
  }
  s.append(path);
  return s;
}
