// labels.js: what people read instead of internal ids (issue 18): runs are "run 1", "run 2" in
// the order they started in this session, requests are named by what they asked ("stop",
// "steering"), people by their name, times as clock times. The ids go in tooltips.

// "alice", "server" for the server's own events, "someone" when unknown.
export function who(from) {
  if (!from || typeof from.sub !== "string" || from.sub === "") return "someone";
  return from.sub === "@server" ? "server" : from.sub;
}

// Tooltip text for a sender: "alice on laptop".
export function whoTitle(from) {
  if (!from) return "";
  return from.device ? `${who(from)} on ${from.device}` : who(from);
}

// The clock time in the reader's locale ("5:02 PM", "17:02"), with the day when not today
// ("Dec 6, 5:02 PM"); "" without a time. The full date and seconds go in tooltips (fmtFull).
export function fmtTime(ts, now = Date.now()) {
  if (!Number.isFinite(ts)) return "";
  const d = new Date(ts);
  const today = new Date(now).toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })
    : d.toLocaleString([], { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" });
}

export function fmtFull(ts) {
  return Number.isFinite(ts) ? new Date(ts).toLocaleString([], { dateStyle: "medium", timeStyle: "medium" }) : "";
}

// Run numbers and control requests of one session, learned from its items in log order.
export class Labels {
  constructor() { this.reset(); }

  reset() {
    this.runs = new Map();      // run id -> {n, ts, from, command}
    this.controls = new Map();  // control id -> {type, from}
  }

  note(item) {
    if (item.type === "run.start" && item.run && !this.runs.has(item.run)) {
      this.runs.set(item.run, { n: this.runs.size + 1, ts: item.ts, from: item.from,
        command: item.data && typeof item.data.command === "string" ? item.data.command : "" });
    } else if ((item.type === "control.cancel" || item.type === "control.steer") && item.id) {
      this.controls.set(item.id, { type: item.type, from: item.from });
    }
  }

  // "run 3" ("a run" when its start is not in view: a lane filter, or a raw write).
  run(id) {
    const r = this.runs.get(id);
    return r ? `run ${r.n}` : "a run";
  }

  runStart(id) {
    const r = this.runs.get(id);
    return r ? r.ts : undefined;
  }

  // "Stop", "Steering" or "Request" for a control id.
  control(id) {
    const c = this.controls.get(id);
    if (!c) return "Request";
    return c.type === "control.cancel" ? "Stop" : "Steering";
  }
}
