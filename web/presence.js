// presence.js: who is here, as chips. People are grouped by name ("alice ×2" for two tabs or
// devices, devices in the tooltip); agents show their run and state. The chips stay on one row
// (issue 18: they wrapped badly on a phone): what does not fit becomes one "+N" chip, a button
// that shows them all (wrapped) until pressed again. Each chip is one line (ellipsis).

import { Labels } from "/ui/labels.js";

const kMaxChips = 8;

// `labels`: the log's Labels (run numbers); `self`: this page's device name.
export function renderPresence(box, members, labels = new Labels(), self = "") {
  const agents = [];
  const people = new Map();  // sub -> {devices, you}
  for (const m of members) {
    if (!m || typeof m.sub !== "string") continue;
    if (m.kind === "agent") { agents.push(m); continue; }
    const p = people.get(m.sub) || { devices: [], you: false };
    p.devices.push(m.device || "");
    if (self && m.device === self) p.you = true;
    people.set(m.sub, p);
  }
  const chips = [];
  for (const a of agents) {
    const state = typeof a.state === "string" ? a.state : "";
    const run = a.run ? labels.run(a.run) : "";
    chips.push(chip("agent", [a.sub, run, state].filter(Boolean).join(" · "),
      `agent ${a.sub}` + (a.run ? ` · run ${a.run}` : "") + (a.lane ? ` · lane ${a.lane}` : ""), state));
  }
  for (const [sub, p] of people) {
    const n = p.devices.length;
    const text = sub + (n > 1 ? ` ×${n}` : "") + (p.you ? " (you)" : "");
    const devices = p.devices.filter(Boolean);
    chips.push(chip("client", text, devices.length ? `${sub} on ${devices.join(", ")}` : sub, "online"));
  }
  if (box.classList.contains("expanded")) return box.replaceChildren(...chips, less(box, members, labels, self));
  box.replaceChildren(...chips);
  // Collapse into "+N" from the end until the row fits (or only one chip is left).
  const rest = [];
  const more = chip("more", "", "", "");
  more.setAttribute("role", "button");
  more.tabIndex = 0;
  const fits = () => box.scrollWidth <= box.clientWidth + 1;
  while ((chips.length > kMaxChips || !fits()) && chips.length > 1) {
    rest.unshift(chips.pop());
    box.replaceChildren(...chips, more);
    more.querySelector(".label").textContent = `+${rest.length}`;
    more.title = rest.map((c) => c.title || c.textContent).join("\n");
  }
  more.setAttribute("aria-label", `${rest.length} more: show everyone`);
  const expand = () => { box.classList.add("expanded"); box.replaceChildren(...chips, ...rest, less(box, members, labels, self)); };
  more.addEventListener("click", expand);
  more.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); expand(); } });
}

// The chip that folds an expanded row back.
function less(box, members, labels, self) {
  const c = chip("more", "less", "show fewer", "");
  c.setAttribute("role", "button");
  c.tabIndex = 0;
  const fold = () => { box.classList.remove("expanded"); renderPresence(box, members, labels, self); };
  c.addEventListener("click", fold);
  c.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fold(); } });
  return c;
}

function chip(kind, text, title, state) {
  const el = document.createElement("span");
  el.className = "member " + kind;
  el.dataset.kind = kind;
  if (state) el.dataset.state = state;
  el.title = title;
  const dot = document.createElement("span");
  dot.className = "dot";
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = text;
  el.append(dot, label);
  return el;
}
