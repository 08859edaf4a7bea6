// presence.js: who is here, as chips. People are grouped by name ("alice ×2" for two tabs or
// devices, devices in the tooltip); agents show their run and state. Each chip is one line
// (ellipsis, never wrapped inside); past kMaxChips the rest is one "+N" chip, so the header
// stays one row of chips on a phone (issue 18).

import { Labels } from "/ui/labels.js";

const kMaxChips = 5;

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
  if (chips.length > kMaxChips) {
    const rest = chips.splice(kMaxChips - 1);
    chips.push(chip("more", `+${rest.length}`, rest.map((c) => c.title || c.textContent).join("\n"), ""));
  }
  box.replaceChildren(...chips);
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
