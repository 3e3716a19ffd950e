// tensorcalc web page: talks to the local JSON API and renders its answers.
// No framework and no math library: the server sends MathML from tensorcalc's own printer,
// which browsers render natively. State lives in the URL hash so a result can be shared.
"use strict";

const MATHML_NS = "http://www.w3.org/1998/Math/MathML";
const SVG_NS = "http://www.w3.org/2000/svg";
const DEBOUNCE_MS = 250;

const $ = (id) => document.getElementById(id);

const state = {
  tab: "derive",
  lastDerive: null,   // the last successful /api/derive request and answer
  seq: 0,             // answers to superseded requests are dropped
  chainSeq: 0,
  controller: null,
  // True once the user picks "with respect to" (or a shared URL names it). Until then the
  // server's default is used, so a new expression gets its own default, not the last one's.
  wrtChosen: false,
};

// ---------------------------------------------------------------------------------------------
// API

async function post(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  let data;
  try {
    data = await response.json();
  } catch (_) {
    data = { error: { code: "bad_reply", message: `server answered ${response.status}` } };
  }
  return { status: response.status, data };
}

// ---------------------------------------------------------------------------------------------
// MathML: the server's markup is rebuilt element by element from an allow-list, so even a
// printer bug cannot inject script or HTML into the page.

const MATHML_TAGS = new Set([
  "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
  "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
  "mstyle", "mpadded", "mphantom", "merror", "semantics", "annotation",
]);
const MATHML_ATTRS = new Set([
  "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "form",
  "columnalign", "rowspacing", "columnspacing", "accent", "accentunder", "movablelimits",
  "largeop", "symmetric", "minsize", "maxsize", "linethickness", "scriptlevel",
  "displaystyle", "width", "height", "depth", "encoding", "class", "title",
]);

function renderMathML(markup, target) {
  target.replaceChildren();
  const doc = new DOMParser().parseFromString(markup, "application/xml");
  const root = doc.documentElement;
  if (!root || doc.getElementsByTagName("parsererror").length || root.localName !== "math") {
    return false;
  }
  target.appendChild(copyMath(root));
  return true;
}

function mathNode(tag, ...children) {
  const el = document.createElementNS(MATHML_NS, tag);
  for (const child of children) {
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

// An operator with fixed attributes, as the printer writes them: fences that do not stretch to
// a superscript, and no operator spacing inside one.
function moFixed(text, attrs) {
  const el = mathNode("mo", text);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

// The left-hand side the printer leaves to us: ∂f/∂x, ∂²f/∂x∂xᵀ, or ∂ vec f/∂ vec X.
function leftHandSide(data) {
  const wrt = mathNode("mi", data.wrt);
  const vec = data.result.form === "vec";
  const d = () => mathNode("mo", "∂");
  // U+2061 (function application) gives "vec X" the spacing of an operator name.
  const v = () => (vec ? [mathNode("mi", "vec"), mathNode("mo", "\u2061")] : []);
  const top = data.order === 2
    ? mathNode("mrow", mathNode("msup", d(), mathNode("mn", "2")), mathNode("mi", "f"))
    : mathNode("mrow", d(), ...v(), mathNode("mi", "f"));
  const bottom = data.order === 2
    ? mathNode("mrow", d(), ...v(), wrt, d(), mathNode("msup", vec
      ? mathNode("mrow", moFixed("(", { stretchy: "false" }), ...v(), mathNode("mi", data.wrt),
        moFixed(")", { stretchy: "false" }))
      : mathNode("mi", data.wrt), moFixed("⊤", { lspace: "0", rspace: "0" })))
    : mathNode("mrow", d(), ...v(), wrt);
  return [mathNode("mfrac", top, bottom), mathNode("mo", "=")];
}

function copyMath(source) {
  // Iterative copy (expressions can be deep) keeping only allowed MathML.
  const rootCopy = document.createElementNS(MATHML_NS, "math");
  const stack = [[source, rootCopy]];
  while (stack.length) {
    const [from, to] = stack.pop();
    for (const attr of Array.from(from.attributes || [])) {
      if (MATHML_ATTRS.has(attr.localName)) to.setAttribute(attr.localName, attr.value);
    }
    for (const child of Array.from(from.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(child.nodeValue));
      } else if (child.nodeType === Node.ELEMENT_NODE && MATHML_TAGS.has(child.localName)) {
        const copy = document.createElementNS(MATHML_NS, child.localName);
        to.appendChild(copy);
        stack.push([child, copy]);
      }
    }
  }
  return rootCopy;
}

// ---------------------------------------------------------------------------------------------
// Inline errors: the source line with the offending column marked, then the message.

function showError(boxId, text, error) {
  const box = $(boxId);
  const source = box.querySelector(".error-source");
  source.replaceChildren();
  const column = Number.isInteger(error.column) ? error.column : null;
  if (column !== null && text) {
    const i = Math.max(0, Math.min(column - 1, text.length));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(i, i + 1) || " ";
    source.append(text.slice(0, i), mark, text.slice(i + 1));
    source.title = `column ${column}`;
    source.hidden = false;
  } else {
    source.hidden = true;
  }
  box.querySelector(".error-message").textContent =
    (column !== null ? `column ${column}: ` : "") + error.message;
  box.hidden = false;
}

function hideError(boxId) {
  $(boxId).hidden = true;
}

function setStatus(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + kind;
}

// ---------------------------------------------------------------------------------------------
// Derivative tab

// The Hessian comes as the Jacobian of the gradient; a layout choice does not apply to it.
function syncLayoutControl() {
  const hessian = document.querySelector("input[name=order]:checked").value === "2";
  $("layout").disabled = hessian;
  $("layout").title = hessian ? "the Hessian is the Jacobian of the gradient" : "";
}

function formState() {
  return {
    expression: $("expr").value,
    wrt: (state.wrtChosen && $("wrt").value) || null,
    layout: $("layout").value,
    order: document.querySelector("input[name=order]:checked").value === "2" ? 2 : 1,
    shapes: $("shapes").value,
  };
}

function fillWrt(variables, chosen) {
  const select = $("wrt");
  const names = variables.map((v) => v.name);
  const label = (v) => (v.shape.kind === "scalar" ? `${v.name}  (scalar)`
    : `${v.name}  (${v.shape.kind || "shape"} ${v.shape.text})`);
  const wanted = variables.map(label);
  const current = Array.from(select.options).map((o) => o.textContent);
  // Rebuild only on change: replacing the options under an open drop-down closes it.
  if (wanted.join("\u0000") !== current.join("\u0000")) {
    select.replaceChildren(...variables.map((v, i) => {
      const option = document.createElement("option");
      option.value = v.name;
      option.textContent = wanted[i];
      return option;
    }));
  }
  if (chosen && names.includes(chosen)) select.value = chosen;
}

async function derive(retry = true) {
  const request = formState();
  writeHash();
  hideError("expr-error");
  hideError("shapes-error");
  if (!request.expression.trim()) {
    $("result").hidden = true;
    setStatus("");
    return;
  }
  const seq = ++state.seq;
  if (state.controller) state.controller.abort();
  state.controller = new AbortController();
  setStatus("working…", "busy");
  let reply;
  try {
    reply = await post("/api/derive", request, state.controller.signal);
  } catch (err) {
    if (err.name === "AbortError") return;
    setStatus("the tensorcalc server is not answering; is `tensorcalc serve` running?", "bad");
    return;
  }
  if (seq !== state.seq) return;
  const { status, data } = reply;
  if (data.variables) fillWrt(data.variables, data.wrt);
  if (status !== 200 && data.error && data.error.code === "unknown_variable" && retry) {
    // The expression changed and no longer holds the chosen variable: let the server pick.
    state.wrtChosen = false;
    $("wrt").replaceChildren();
    fillWrt(data.variables || [], null);
    $("wrt").value = "";
    return derive(false);
  }
  if (status !== 200) {
    const error = data.error || { message: `HTTP ${status}` };
    if (error.field === "shapes") {
      $("shapes-box").open = true;
      showError("shapes-error", request.shapes, error);
    } else if (error.field === "expression" || error.code === "parse_error") {
      showError("expr-error", request.expression, error);
    } else {
      showError("expr-error", request.expression, { message: error.message });
    }
    setStatus("");
    $("result").classList.add("stale");
    return;
  }
  setStatus("");
  // The server picks a variable when none was chosen; the check must use the same one. The URL
  // names it only when the user chose it, so a shared link keeps following the default.
  if (data.wrt) request.wrt = data.wrt;
  state.lastDerive = { request, data };
  showResult(data);
}

function showResult(data) {
  const result = data.result;
  $("result").hidden = false;
  $("result").classList.remove("stale");
  $("result-title").textContent = data.order === 2 ? "Hessian" : "Derivative";
  $("result-of").textContent = `${data.parsed || data.expression}  with respect to ${data.wrt}`;
  $("result-shape").textContent = `shape ${result.shape.text}`;
  $("result-layout").textContent = `${result.layout} layout`;
  $("result-time").textContent = `${data.elapsed_ms} ms`;
  if (renderMathML(result.mathml, $("result-math"))) {
    const math = $("result-math").firstChild;
    math.prepend(...leftHandSide(data));
  } else {
    $("result-math").textContent = result.text;
  }
  $("steps").textContent = result.steps;
  $("latex").textContent = result.latex;
  $("numpy").textContent = result.numpy;
  $("check-out").textContent = "";
  $("check-out").className = "check-out";
}

async function checkNumerically() {
  if (!state.lastDerive) return;
  const out = $("check-out");
  out.textContent = "checking…";
  out.className = "check-out busy";
  const derived = state.lastDerive;
  const { status, data } = await post("/api/check", derived.request).catch(() => ({
    status: 0, data: { error: { message: "the server is not answering" } },
  }));
  if (state.lastDerive !== derived) return;  // a newer derivation replaced the one checked
  if (status !== 200) {
    out.textContent = (data.error && data.error.message) || `HTTP ${status}`;
    out.className = "check-out bad";
    return;
  }
  const err = data.max_error === null ? "n/a" : data.max_error.toExponential(2);
  // Name the reference the server really used (the autodiff engine, or finite differences).
  const reference = data.reference || "the numerical reference";
  out.textContent = `${data.ok ? "✓ agrees with" : "✗ disagrees with"} ${reference}: ` +
    `max error ${err}`;
  out.title = data.report;
  out.className = "check-out " + (data.ok ? "good" : "bad");
}

async function copyFrom(id, button) {
  const text = $(id).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    // Clipboard API refused (permissions, older browser): fall back to a selection copy.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1200);
}

async function loadExamples() {
  const box = $("examples");
  let examples = [];
  try {
    const response = await fetch("/api/examples");
    examples = (await response.json()).examples || [];
  } catch (_) {
    return;
  }
  const label = document.createElement("span");
  label.className = "examples-label";
  label.textContent = "Examples";
  box.replaceChildren(label, ...examples.map((ex) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chip";
    button.textContent = ex.label;
    button.title = ex.expression;
    button.addEventListener("click", () => {
      $("expr").value = ex.expression;
      $("wrt").replaceChildren();
      fillWrt([{ name: ex.wrt, shape: { text: "…" } }], ex.wrt);
      state.wrtChosen = false;  // each example's wrt is the server's default for it
      derive();
    });
    return button;
  }));
}

// ---------------------------------------------------------------------------------------------
// Jacobian chain tab

async function plan() {
  const text = $("widths").value;
  writeHash();
  hideError("widths-error");
  const seq = ++state.chainSeq;
  let reply;
  try {
    reply = await post("/api/plan", { widths: text });
  } catch (_) {
    showError("widths-error", text, { message: "the server is not answering" });
    return;
  }
  if (seq !== state.chainSeq) return;
  if (reply.status !== 200) {
    showError("widths-error", text, reply.data.error || { message: `HTTP ${reply.status}` });
    $("chain-result").classList.add("stale");
    return;
  }
  showPlan(reply.data);
}

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function showPlan(data) {
  $("chain-result").hidden = false;
  $("chain-result").classList.remove("stale");
  const rows = [
    { key: "forward", label: "forward", cost: data.forward, how: data.forward_bracketing },
    { key: "reverse", label: "reverse", cost: data.reverse, how: data.reverse_bracketing },
    { key: "optimal", label: "optimal", cost: data.optimal, how: data.bracketing },
  ];
  const width = 640, left = 84, right = 96, barH = 26, gap = 16, top = 10;
  const height = top + rows.length * (barH + gap);
  const max = Math.max(...rows.map((r) => r.cost), 1);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": rows.map((r) => `${r.label} ${r.cost}`).join(", "),
  });
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(2, (width - left - right) * r.cost / max);
    chart.append(
      svg("text", { x: left - 10, y: y + barH / 2, class: "bar-label", "text-anchor": "end",
                    "dominant-baseline": "central" }, r.label),
      svg("rect", { x: left, y, width: w, height: barH, rx: 3, class: `bar bar-${r.key}` }),
      svg("text", { x: left + w + 8, y: y + barH / 2, class: "bar-value",
                    "dominant-baseline": "central", "data-mode": r.key },
          r.cost.toLocaleString("en-US")),
    );
  });
  $("chart").replaceChildren(chart);

  const body = $("chain-table").querySelector("tbody");
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    if (r.cost === data.optimal) tr.className = "best";
    const cells = [r.label, r.cost.toLocaleString("en-US"), r.how];
    cells.forEach((value, j) => {
      const td = document.createElement("td");
      td.textContent = value;
      if (j === 1) { td.className = "num"; td.dataset.mode = r.key; }
      if (j === 2) td.className = "mono";
      tr.append(td);
    });
    return tr;
  }));
  const ratio = data.forward / Math.max(1, data.reverse);
  const winner = data.best_mode === "optimal" ? "a mixed bracketing beats both modes"
    : `${data.best_mode} mode is optimal`;
  $("chain-note").textContent = `${data.factors.join(", ")}. Here ${winner}; ` +
    `forward costs ${ratio >= 1 ? ratio.toFixed(1) + "× reverse" :
      (1 / ratio).toFixed(1) + "× less than reverse"}.`;
}

// ---------------------------------------------------------------------------------------------
// Tabs and URL state

function selectTab(tab) {
  state.tab = tab === "chain" ? "chain" : "derive";
  for (const button of document.querySelectorAll("[role=tab]")) {
    const on = button.dataset.tab === state.tab;
    button.setAttribute("aria-selected", String(on));
    $(`panel-${button.dataset.tab}`).hidden = !on;
  }
}

function writeHash() {
  const params = new URLSearchParams();
  if (state.tab === "chain") {
    params.set("tab", "chain");
    params.set("widths", $("widths").value);
  } else {
    const f = formState();
    params.set("expr", f.expression);
    if (f.wrt) params.set("wrt", f.wrt);
    if (f.layout !== "numerator") params.set("layout", f.layout);
    if (f.order === 2) params.set("order", "2");
    if (f.shapes.trim()) params.set("shapes", f.shapes);
  }
  // replaceState: typing should not fill the back button with one entry per key.
  history.replaceState(null, "", "#" + params.toString());
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  selectTab(params.get("tab") || "derive");
  if (params.has("widths")) $("widths").value = params.get("widths");
  if (params.has("expr")) $("expr").value = params.get("expr");
  const wrt = params.get("wrt");
  state.wrtChosen = Boolean(wrt);
  if (wrt) fillWrt([{ name: wrt, shape: { text: "…" } }], wrt);
  $("layout").value = ["denominator", "gradient"].includes(params.get("layout"))
    ? params.get("layout") : "numerator";
  $(params.get("order") === "2" ? "order-2" : "order-1").checked = true;
  if (params.has("shapes")) {
    $("shapes").value = params.get("shapes");
    $("shapes-box").open = true;
  }
  return params.has("expr") || params.has("widths");
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function init() {
  const hadState = readHash();
  syncLayoutControl();
  if (!hadState || !$("expr").value) $("expr").value = $("expr").value || "x'*A*x";
  loadExamples();
  const later = debounce(() => derive(), DEBOUNCE_MS);
  $("expr").addEventListener("input", later);
  $("shapes").addEventListener("input", later);
  $("wrt").addEventListener("change", () => { state.wrtChosen = true; derive(); });
  $("layout").addEventListener("change", () => derive());
  for (const radio of document.querySelectorAll("input[name=order]")) {
    radio.addEventListener("change", () => { syncLayoutControl(); derive(); });
  }
  $("derive-form").addEventListener("submit", (e) => { e.preventDefault(); derive(); });
  $("chain-form").addEventListener("submit", (e) => { e.preventDefault(); plan(); });
  $("widths").addEventListener("input", debounce(plan, DEBOUNCE_MS));
  $("check-btn").addEventListener("click", checkNumerically);
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => copyFrom(button.dataset.copy, button));
  }
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.addEventListener("click", () => {
      selectTab(button.dataset.tab);
      writeHash();
      if (state.tab === "chain") plan(); else derive();
    });
  }
  window.addEventListener("hashchange", () => {
    readHash();
    syncLayoutControl();
    if (state.tab === "chain") plan(); else derive();
  });
  derive();
  plan();
  if (state.tab === "chain") writeHash();
}

document.addEventListener("DOMContentLoaded", init);
