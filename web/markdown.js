// markdown.js: a small, safe Markdown renderer for agent replies (docs/web-ui.md, "Markdown").
//
// Safety by construction: the output is built with createElement/textContent only. No string
// of the stream is ever parsed as HTML (no innerHTML, no DOMParser), so `<script>`, `<img
// onerror=...>` and the like show as text. Attributes set: `href` (only an absolute http:,
// https: or mailto: URL, normalised by the URL parser, which also strips the tabs and control
// characters that could hide "java\tscript:"), `title`, `rel`, `target` and a `class` from a
// fixed alphabet. Images are never loaded: `![alt](url)` becomes a link.
//
// Supported: ATX headings, paragraphs (a single newline is a line break, as in chat), bullet and
// ordered lists (nested by indentation), block quotes, fenced code blocks (``` and ~~~, an
// unclosed fence runs to the end, which is what a reply still streaming looks like),
// horizontal rules, GFM pipe tables; inline code, **strong**, *em*, ~~strike~~, links,
// <autolinks> and bare http(s) URLs, backslash escapes. Anything else is text.
//
// Streaming: renderInto(el, text) splits the text into top-level blocks and keeps the DOM of
// every leading block whose source did not change, so a growing reply re-renders only its tail.

const kMaxDepth = 8;  // nesting of quotes/lists; deeper input renders as text

// ---- blocks ----

const reFence = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const reHeading = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const reRule = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const reQuote = /^ {0,3}> ?(.*)$/;
const reItem = /^( {0,3})([-*+]|\d{1,9}[.)])([ \t]+|$)(.*)$/;
const reTableSep = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

function isBlank(line) { return /^[ \t]*$/.test(line); }

function startsBlock(line) {
  return reFence.test(line) || reHeading.test(line) || reRule.test(line) || reQuote.test(line) ||
    /^ {0,3}([-*+]|1[.)])[ \t]+\S/.test(line);
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && s[i + 1] === "|") { cur += "|"; i++; continue; }
    if (s[i] === "|") { cells.push(cur.trim()); cur = ""; continue; }
    cur += s[i];
  }
  cells.push(cur.trim());
  return cells;
}

// Parses `lines` into blocks: {type, src, ...}. `src` is the block's exact source (the key the
// streaming renderer compares).
export function parseBlocks(text, depth = 0) {
  const lines = text.split("\n");
  const blocks = [];
  let i = 0;
  let at = 0;         // char offset of lines[i]
  let atLine = 0;
  let lastStart = 0;  // char offset where the block being parsed starts
  const offsetOf = (n) => { while (atLine < n) at += lines[atLine++].length + 1; return at; };
  while (i < lines.length) {
    if (blocks.length && blocks[blocks.length - 1].at === undefined) blocks[blocks.length - 1].at = lastStart;
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }
    const start = i;
    lastStart = offsetOf(i);
    let m;
    if ((m = reFence.exec(line))) {
      const fence = m[1];
      const body = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        const t = lines[i].trim();
        if (t.length >= fence.length && t[0] === fence[0] && /^(`+|~+)$/.test(t)) { closed = true; i++; break; }
        body.push(lines[i]);
      }
      blocks.push({ type: "code", lang: m[2] || "", text: body.join("\n"), closed, src: lines.slice(start, i).join("\n") });
      continue;
    }
    if ((m = reHeading.exec(line))) {
      blocks.push({ type: "heading", level: m[1].length, text: m[2] || "", src: line });
      i++;
      continue;
    }
    if (reRule.test(line)) {
      blocks.push({ type: "rule", src: line });
      i++;
      continue;
    }
    if (reQuote.test(line) && depth < kMaxDepth) {
      const inner = [];
      while (i < lines.length && (m = reQuote.exec(lines[i]))) { inner.push(m[1]); i++; }
      blocks.push({ type: "quote", children: parseBlocks(inner.join("\n"), depth + 1), src: lines.slice(start, i).join("\n") });
      continue;
    }
    if ((m = reItem.exec(line)) && depth < kMaxDepth) {
      const list = parseList(lines, i, depth);
      i = list.end;
      blocks.push(list.block);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && lines[i + 1].includes("|") && reTableSep.test(lines[i + 1])) {
      const head = splitRow(line);
      const align = splitRow(lines[i + 1]).map((c) => (c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : ""));
      const rows = [];
      for (i += 2; i < lines.length && !isBlank(lines[i]) && lines[i].includes("|"); i++) rows.push(splitRow(lines[i]));
      blocks.push({ type: "table", head, align, rows, src: lines.slice(start, i).join("\n") });
      continue;
    }
    // A paragraph: up to a blank line or the start of another block.
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i])) i++;
    const src = lines.slice(start, i).join("\n");
    blocks.push({ type: "para", text: src, src });
  }
  if (blocks.length && blocks[blocks.length - 1].at === undefined) blocks[blocks.length - 1].at = lastStart;
  return blocks;
}

// A list starting at lines[from]: items of the same kind (bullet or ordered) at about the same
// indentation; lines indented past the marker belong to the item (nested lists, paragraphs).
function parseList(lines, from, depth) {
  const first = reItem.exec(lines[from]);
  const ordered = /\d/.test(first[2]);
  const baseIndent = first[1].length;
  const items = [];
  let i = from;
  let loose = false;
  while (i < lines.length) {
    const m = reItem.exec(lines[i]);
    if (!m || /\d/.test(m[2]) !== ordered || m[1].length > baseIndent + 1) break;
    const contentIndent = m[1].length + m[2].length + Math.max(1, Math.min(m[3].length, 4));
    const body = [m[4]];
    i++;
    let sawBlank = false;
    while (i < lines.length) {
      const l = lines[i];
      if (isBlank(l)) { sawBlank = true; body.push(""); i++; continue; }
      const indent = l.length - l.trimStart().length;
      if (indent >= contentIndent || (indent > baseIndent && reItem.test(l))) {
        if (sawBlank) loose = true;
        body.push(l.slice(Math.min(indent, contentIndent)));
        sawBlank = false;
        i++;
        continue;
      }
      if (!sawBlank && !startsBlock(l) && !reItem.test(l)) { body.push(l.trim()); i++; continue; }  // lazy continuation
      break;
    }
    // Trailing blank lines belong between items, not to this one (never the item's own line).
    while (body.length > 1 && body[body.length - 1] === "") { body.pop(); i--; }
    if (sawBlank && i < lines.length && reItem.test(lines[i])) loose = true;
    items.push(parseBlocks(body.join("\n"), depth + 1));
    // Skip blank lines between items (they were popped from the body above).
    while (i < lines.length && isBlank(lines[i])) {
      const next = lines.slice(i).find((l) => !isBlank(l));
      if (next === undefined || !reItem.test(next)) break;
      i++;
    }
  }
  const startNum = ordered ? parseInt(first[2], 10) : 1;
  return { end: i, block: { type: "list", ordered, start: startNum, loose, items, src: lines.slice(from, i).join("\n") } };
}

// ---- inline ----

// An absolute http(s)/mailto URL, normalised, or null. Relative URLs are refused too: a link
// in a reply should say where it goes.
export function safeHref(raw) {
  let u;
  try { u = new URL(String(raw).trim()); } catch { return null; }
  return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u.href : null;
}

function link(href, title, children) {
  const a = document.createElement("a");
  a.href = href;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  if (title) a.title = title;
  a.append(...children);
  return a;
}

const kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// The closing `delim` for an opener at `from` (the first char after it), or -1: not preceded by
// whitespace, and for '_' not followed by a word character (no intraword emphasis).
function findCloser(s, from, delim) {
  let j = from;
  for (;;) {
    j = s.indexOf(delim, j);
    if (j < 0) return -1;
    if (s[j - 1] === "\\") { j++; continue; }
    const single = delim.length === 1;
    const doubled = single && (s[j + 1] === delim || s[j - 1] === delim);
    if (j > from && !/\s/.test(s[j - 1]) && !doubled && !(delim[0] === "_" && /\w/.test(s[j + delim.length] || ""))) return j;
    j += delim.length;
  }
}

// [text](dest "title"): returns {text, dest, title, end} or null.
const kMaxLinkChars = 2000;  // a destination longer than this is not a link (bounds the scan)

// The matching ']' of every '[' in `s` (escaped brackets skipped), in one pass: finding them
// one opener at a time would make a long JSON line ("[[1,2],[3,4],...") quadratic.
function matchBrackets(s) {
  const match = new Map();
  const open = [];
  for (let j = 0; j < s.length; j++) {
    const c = s[j];
    if (c === "\\") j++;
    else if (c === "[") open.push(j);
    else if (c === "]" && open.length) match.set(open.pop(), j);
  }
  return match;
}

// [text](dest "title") at s[i] === '[': {text, dest, title, end} or null. `match`: matchBrackets(s).
function parseLink(s, i, match) {
  const j = match.get(i);
  if (j === undefined || s[j + 1] !== "(") return null;
  const text = s.slice(i + 1, j);
  let k = j + 2;
  let dest = "";
  if (s[k] === "<") {
    const close = s.indexOf(">", k);
    if (close < 0) return null;
    dest = s.slice(k + 1, close);
    k = close + 1;
  } else {
    let parens = 0;
    for (const stop = Math.min(s.length, k + kMaxLinkChars); k < stop; k++) {
      const c = s[k];
      if (c === " " || c === "\n") break;
      if (c === "(") parens++;
      else if (c === ")") { if (parens === 0) break; parens--; }
      dest += c;
    }
  }
  let title = "";
  const t = /^[ \t]+"([^"]*)"[ \t]*/.exec(s.slice(k));
  if (t) { title = t[1]; k += t[0].length; }
  if (s[k] !== ")") return null;
  return { text, dest, title, end: k + 1 };
}

// Appends the inline content of `s` to `parent`.
export function renderInline(parent, s, depth = 0) {
  // Where a search for a closer (per delimiter) already failed: every later opener of the same
  // delimiter fails too, so a line of 100,000 '*' costs one scan, not 100,000.
  const failedFrom = new Map();
  const closer = (from, delim) => {
    if (from >= (failedFrom.get(delim) ?? Infinity)) return -1;
    const j = findCloser(s, from, delim);
    if (j < 0) failedFrom.set(delim, Math.min(from, failedFrom.get(delim) ?? Infinity));
    return j;
  };
  let brackets = null;  // matchBrackets(s), made at the first '['
  let buf = "";
  const flush = () => { if (buf) { parent.append(document.createTextNode(buf)); buf = ""; } };
  const el = (tag, inner) => {
    flush();
    const e = document.createElement(tag);
    if (depth < kMaxDepth) renderInline(e, inner, depth + 1); else e.textContent = inner;
    parent.append(e);
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && kPunct.includes(s[i + 1])) { buf += s[i + 1]; i += 2; continue; }
    if (c === "\n") { flush(); parent.append(document.createElement("br")); i++; continue; }
    if (c === "`") {
      let n = 1;
      while (s[i + n] === "`") n++;
      const ticks = "`".repeat(n);
      let j = i + n;
      if (j >= (failedFrom.get(ticks) ?? Infinity)) j = -1;
      for (; j >= 0;) {
        j = s.indexOf(ticks, j);
        if (j < 0 || s[j + n] !== "`") break;
        while (s[j] === "`") j++;
      }
      if (j < 0) { failedFrom.set(ticks, Math.min(i + n, failedFrom.get(ticks) ?? Infinity)); buf += ticks; i += n; continue; }
      let code = s.slice(i + n, j).replace(/\n/g, " ");
      if (code.length > 2 && code[0] === " " && code[code.length - 1] === " ") code = code.slice(1, -1);
      flush();
      const e = document.createElement("code");
      e.textContent = code;
      parent.append(e);
      i = j + n;
      continue;
    }
    if ((c === "*" || c === "_") && s[i + 1] === c && s[i + 2] === c && !/\s/.test(s[i + 3] || " ")) {
      const j = closer(i + 3, c + c + c);
      if (j > 0 && (c !== "_" || !/\w/.test(s[i - 1] || ""))) {
        flush();
        const strong = document.createElement("strong");
        const em = document.createElement("em");
        renderInline(em, s.slice(i + 3, j), depth + 1);
        strong.append(em);
        parent.append(strong);
        i = j + 3;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && s[i + 1] === c && !/\s/.test(s[i + 2] || " ")) {
      const d = c + c;
      const j = closer(i + 2, d);
      if (j > 0 && (c !== "_" || !/\w/.test(s[i - 1] || ""))) {
        el(c === "~" ? "del" : "strong", s.slice(i + 2, j));
        i = j + 2;
        continue;
      }
    }
    if ((c === "*" || c === "_") && s[i + 1] !== c && !/\s/.test(s[i + 1] || " ") && (c !== "_" || !/\w/.test(s[i - 1] || ""))) {
      const j = closer(i + 1, c);
      if (j > 0) { el("em", s.slice(i + 1, j)); i = j + 1; continue; }
    }
    if (c === "[" || (c === "!" && s[i + 1] === "[")) {
      const image = c === "!";
      brackets = brackets || matchBrackets(s);
      const l = parseLink(s, image ? i + 1 : i, brackets);
      if (l) {
        const href = safeHref(l.dest);
        if (href) {
          flush();
          const kids = [];
          if (image) kids.push(document.createTextNode(l.text ? `image: ${l.text}` : "image"));
          else if (depth < kMaxDepth) { const f = document.createDocumentFragment(); renderInline(f, l.text, depth + 1); kids.push(f); }
          else kids.push(document.createTextNode(l.text));
          parent.append(link(href, l.title, kids));
        } else {
          buf += s.slice(i, l.end);  // an unsafe or relative link: its source, as text
        }
        i = l.end;
        continue;
      }
    }
    if (c === "<") {
      const m = /^<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+\.[a-zA-Z]{2,})>/.exec(s.slice(i, i + 2048));
      const href = m && safeHref(m[1].includes(":") ? m[1] : "mailto:" + m[1]);
      if (href) { flush(); parent.append(link(href, "", [document.createTextNode(m[1])])); i += m[0].length; continue; }
    }
    if (c === "h" && (s.startsWith("http://", i) || s.startsWith("https://", i)) && !/\w/.test(s[i - 1] || "")) {
      const found = /^https?:\/\/[^\s<>"]+/.exec(s.slice(i, i + 4096));
      let m = found ? found[0] : "";
      // Trailing punctuation ends the sentence, not the URL; a ')' that closes a '(' inside the
      // URL stays (Wikipedia links).
      const count = (ch) => m.split(ch).length - 1;
      while (/[.,:;!?'")\]*_~]$/.test(m)) {
        if (m.endsWith(")") && count("(") >= count(")")) break;
        m = m.slice(0, -1);
      }
      const href = m.length > 8 && safeHref(m);
      if (href) { flush(); parent.append(link(href, "", [document.createTextNode(m)])); i += m.length; continue; }
    }
    buf += c;
    i++;
  }
  flush();
}

// ---- render ----

function renderBlock(b) {
  switch (b.type) {
    case "heading": {
      const h = document.createElement("h" + Math.min(6, b.level + 1));  // h1 is the page's
      h.className = "md-h" + b.level;
      renderInline(h, b.text);
      return h;
    }
    case "rule": return document.createElement("hr");
    case "code": {
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      const lang = /^[A-Za-z0-9_+#.-]{1,32}$/.test(b.lang) ? b.lang : "";
      if (lang) { code.className = "language-" + lang.replace(/[^A-Za-z0-9_-]/g, "_"); pre.dataset.lang = lang; }
      code.textContent = b.text;
      pre.append(code);
      return pre;
    }
    case "quote": {
      const q = document.createElement("blockquote");
      for (const c of b.children) q.append(renderBlock(c));
      return q;
    }
    case "list": {
      const l = document.createElement(b.ordered ? "ol" : "ul");
      if (b.ordered && b.start !== 1) l.start = b.start;
      for (const item of b.items) {
        const li = document.createElement("li");
        for (const c of item) {
          if (c.type === "para" && !b.loose) renderInline(li, c.text);
          else li.append(renderBlock(c));
        }
        l.append(li);
      }
      return l;
    }
    case "table": {
      const wrap = document.createElement("div");
      wrap.className = "md-table";
      const t = document.createElement("table");
      const row = (cells, tag) => {
        const tr = document.createElement("tr");
        b.head.forEach((_, k) => {
          const td = document.createElement(tag);
          if (b.align[k]) td.className = "align-" + b.align[k];
          renderInline(td, cells[k] || "");
          tr.append(td);
        });
        return tr;
      };
      const thead = document.createElement("thead");
      thead.append(row(b.head, "th"));
      const tbody = document.createElement("tbody");
      for (const r of b.rows) tbody.append(row(r, "td"));
      t.append(thead, tbody);
      wrap.append(t);
      return wrap;
    }
    default: {
      const p = document.createElement("p");
      renderInline(p, b.text);
      return p;
    }
  }
}

// Renders `text` into `el`, reusing the DOM of unchanged leading blocks (el._mdBlocks). When
// the text only grew, the blocks before the last two cannot have changed (the parser starts
// each top-level block afresh, and the last two are the only ones new text can extend): only
// the text from the second-to-last block on is parsed again.
export function renderInto(el, text) {
  const old = el._mdBlocks || [];
  let blocks;
  if (old.length > 2 && typeof el._mdText === "string" && text.startsWith(el._mdText)) {
    const base = old[old.length - 2].at;
    blocks = old.slice(0, -2).concat(parseBlocks(text.slice(base)).map((b) => ({ ...b, at: b.at + base })));
  } else {
    blocks = parseBlocks(text);
  }
  el._mdText = text;
  let keep = 0;
  while (keep < old.length && keep < blocks.length && old[keep].src === blocks[keep].src &&
         old[keep].type === blocks[keep].type && el.children[keep] === old[keep].node) keep++;
  if (keep === 0 && el.childNodes.length) el.replaceChildren();
  while (el.children.length > keep) el.lastElementChild.remove();
  for (let k = keep; k < blocks.length; k++) {
    blocks[k].node = renderBlock(blocks[k]);
    el.append(blocks[k].node);
  }
  for (let k = 0; k < keep; k++) blocks[k].node = old[k].node;
  el._mdBlocks = blocks;
}
