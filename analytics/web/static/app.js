// The wasp dashboard: reads the admin listener's API and draws it. No
// framework and no build step.
//
// Text from the API only ever goes into text nodes and attributes: it is
// never parsed as HTML. Every figure carries its exact value in a data-*
// attribute (data-metric and data-value on cards, data-chart on charts and
// data-value on their bars, data-number and data-field in the numbers
// table), and <body data-ready="1"> marks the first full render, so a test
// can read the page a browser drew.
"use strict";

const TOKEN_KEY = "wasp.apiToken";
const REFRESH_MS = 10000;
const HOUR = 3600e3;
const PERIODS = {
  "1h": { ms: HOUR, step: "hour" },
  "24h": { ms: 24 * HOUR, step: "hour" },
  "7d": { ms: 7 * 24 * HOUR, step: "day" },
};
const STEP_MS = { hour: HOUR, day: 24 * HOUR };
const SVG_NS = "http://www.w3.org/2000/svg"; // a namespace name, not fetched

const state = {
  tenant: "",
  period: "24h",
  selected: "", // the conversation shown
  tenants: new Set(), // every tenant seen in the data
  seq: 0, // the latest refresh: an older one finishing late draws nothing
  timer: 0,
};

class Unauthorized extends Error {}

// ---- DOM helpers -------------------------------------------------------

// h builds an HTML element, s an SVG one: attributes that are null,
// undefined or false are left out; children are nodes, or strings and
// numbers (text nodes); arrays are flattened.
function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// fill replaces the children of el, taken as h takes them.
function fill(el, ...children) {
  el.replaceChildren();
  return build(el, null, children);
}

const $ = (id) => document.getElementById(id);

const fmt = {
  int: (n) => String(n || 0),
  pct: (r) => (100 * (r || 0)).toFixed(1) + " %",
  ms: (v) => (!v ? "–" : v < 1000 ? Math.round(v) + " ms" : (v / 1000).toFixed(v < 10000 ? 2 : 1) + " s"),
  usd: (v) => "$" + (v || 0).toFixed(!v || v >= 1 ? 2 : 4),
};

// when is a time for lists: the clock today, the date and clock before.
function when(t) {
  const d = new Date(t);
  if (isNaN(d)) return "";
  const today = d.toDateString() === new Date().toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// stepLabel names a trend step: its hour, or its day (days are UTC, as
// the API cuts them).
function stepLabel(t, step) {
  const d = new Date(t);
  return step === "day"
    ? d.toLocaleDateString([], { timeZone: "UTC", weekday: "short", day: "numeric" })
    : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

const plural = (n, one, many) => fmt.int(n) + " " + (n === 1 ? one : many || one + "s");
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// ---- the API -----------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// takeTokenFromURL keeps a token given as #token=… and removes it from the
// address bar, so it is neither bookmarked nor left in the history.
function takeTokenFromURL() {
  const t = new URLSearchParams(location.hash.slice(1)).get("token");
  if (t === null) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  history.replaceState(null, "", location.pathname + location.search);
}

async function api(path, params) {
  const q = new URLSearchParams(params || {}).toString();
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  const resp = await fetch(path + (q ? "?" + q : ""), { headers, cache: "no-store" });
  if (resp.status === 401) throw new Unauthorized();
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(path + ": " + (body.error || resp.status + " " + resp.statusText));
    err.status = resp.status;
    throw err;
  }
  return body;
}

// conversation reads one conversation; null when it is gone.
async function conversation(id) {
  if (!id) return null;
  try {
    return await api("/api/v1/conversations/" + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// ---- refresh -----------------------------------------------------------

async function refresh() {
  clearTimeout(state.timer);
  const seq = ++state.seq;
  const period = PERIODS[state.period];
  const to = Date.now();
  const scope = { from: Math.floor((to - period.ms) / 1000), to: Math.ceil(to / 1000) };
  const tenant = state.tenant ? { tenant: state.tenant } : {};
  try {
    const [summary, trends, numbers, alerts, convs] = await Promise.all([
      api("/api/v1/dashboard/summary", { ...tenant, ...scope }),
      api("/api/v1/dashboard/trends", { ...tenant, ...scope, step: period.step }),
      api("/api/v1/dashboard/numbers", { ...tenant, ...scope }),
      api("/api/v1/dashboard/alerts", { ...tenant, ...scope }),
      api("/api/v1/conversations", { ...tenant, limit: 100 }),
    ]);
    const list = convs.conversations || [];
    if (!state.selected && list.length > 0) state.selected = list[0].id;
    const conv = await conversation(state.selected);
    if (seq !== state.seq) return;
    if (!conv) state.selected = ""; // gone: the newest is shown next time

    for (const x of [...list, ...(alerts.alerts || [])]) if (x.tenant) state.tenants.add(x.tenant);
    renderTenants();
    renderCards(summary);
    renderCharts(trends.points || [], to - period.ms, to, period.step);
    renderNumbers(numbers.numbers || []);
    renderAlerts(alerts.alerts || []);
    renderConversations(list);
    renderConversation(conv);
    $("error").hidden = true;
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString([], { hourCycle: "h23" });
    document.body.dataset.ready = "1";
  } catch (e) {
    if (seq !== state.seq) return;
    if (e instanceof Unauthorized) {
      showLogin(token() !== "");
      return; // no timer: the form refreshes
    }
    $("error").textContent = "Cannot refresh: " + e.message;
    $("error").hidden = false;
  }
  schedule();
}

// schedule refreshes again in REFRESH_MS, or later while the tab is hidden.
function schedule() {
  state.timer = setTimeout(() => (document.hidden ? schedule() : refresh()), REFRESH_MS);
}

async function select(id) {
  state.selected = id;
  for (const b of document.querySelectorAll("#conversations [data-conversation]")) {
    b.classList.toggle("selected", b.dataset.conversation === id);
  }
  try {
    renderConversation(await conversation(id));
  } catch (e) {
    if (e instanceof Unauthorized) showLogin(true);
  }
}

function showLogin(refused) {
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").hidden = !refused;
  $("token").focus();
}

// ---- rendering ---------------------------------------------------------

function renderTenants() {
  const sel = $("tenant");
  const want = [...state.tenants].sort();
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (want.join("\n") === have.join("\n")) return;
  fill(sel, h("option", { value: "" }, "All tenants"), want.map((t) => h("option", { value: t }, t)));
  sel.value = state.tenant;
}

function card(metric, label, value, text, ...sub) {
  return h("div", { class: "card" },
    h("div", { class: "label" }, label),
    h("div", { class: "value", "data-metric": metric, "data-value": value }, text),
    sub.length > 0 ? h("div", { class: "sub" }, sub) : null);
}

function renderCards(m) {
  const failures = Object.entries(m.failures_by_code || {}).sort((a, b) => b[1] - a[1]);
  const failed = sum(failures.map(([, n]) => n));
  const billable = sum(Object.values(m.billable || {}));
  const top = failures.slice(0, 5).map(([code, n]) => h("li", { "data-code": code, "data-value": n }, code + " × " + n));
  if (failures.length > top.length) top.push(h("li", {}, "and " + (failures.length - top.length) + " more"));
  fill($("cards"),
    card("conversations", "Conversations", m.conversations, fmt.int(m.conversations), "customers who wrote"),
    card("messages_in", "Messages in", m.messages_in, fmt.int(m.messages_in), "from customers"),
    card("messages_out", "Messages out", m.messages_out, fmt.int(m.messages_out), "accepted by Meta"),
    card("bot_reply_rate", "Bot reply rate", m.bot_reply_rate, fmt.pct(m.bot_reply_rate), plural(m.bot_replies, "bot reply", "bot replies")),
    card("handoff_rate", "Handoff rate", m.handoff_rate, fmt.pct(m.handoff_rate), plural(m.handoffs, "handoff")),
    card("response_p50_ms", "Response p50", m.response_p50_ms, fmt.ms(m.response_p50_ms), "message in → reply accepted"),
    card("response_p95_ms", "Response p95", m.response_p95_ms, fmt.ms(m.response_p95_ms), "message in → reply accepted"),
    card("delivery_rate", "Delivered", m.delivery_rate, fmt.pct(m.delivery_rate), fmt.int(m.delivered) + " of " + fmt.int(m.sent) + " sent"),
    card("read_rate", "Read", m.read_rate, fmt.pct(m.read_rate), fmt.int(m.read) + " of " + fmt.int(m.sent) + " sent"),
    card("failures", "Failures", failed, fmt.int(failed), top.length > 0 ? h("ul", { class: "codes" }, top) : "by error code"),
    card("tokens", "LLM tokens", m.tokens, fmt.int(m.tokens), "used by the bots"),
    card("cost_estimate_usd", "Estimated cost", m.cost_estimate_usd, fmt.usd(m.cost_estimate_usd), plural(billable, "billable message")));
}

// slots fills [from, to] with one row per step, zero where the API has no
// point, so the x axis is time; a point outside the slots is kept.
function slots(points, from, to, step) {
  const ms = STEP_MS[step];
  const rows = new Map();
  for (let t = Math.floor(from / ms) * ms; t <= to; t += ms) rows.set(t, { t });
  for (const p of points) {
    const t = Date.parse(p.time);
    rows.set(t, { ...p, t });
  }
  return [...rows.values()].sort((a, b) => a.t - b.t);
}

// ticks are the y axis marks: whole steps of 1, 2 or 5 × 10^k, the top one
// at or above max.
function ticks(max) {
  const top = Math.max(max, 1);
  const mag = 10 ** Math.floor(Math.log10(top / 4));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= top / 4));
  const out = [];
  for (let v = 0; v < top + step; v += step) out.push(v);
  return out;
}

const W = 560, H = 200, PAD = { top: 10, right: 16, bottom: 26, left: 40 };

function chart(series, title, rows, step) {
  const values = rows.map((r) => r[series] || 0);
  const marks = ticks(Math.max(0, ...values));
  const top = marks[marks.length - 1];
  const iw = W - PAD.left - PAD.right, ih = H - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + ih - (v / top) * ih;
  const slot = iw / rows.length, bw = Math.max(1, slot * 0.72);
  const every = Math.ceil(rows.length / 8); // at most about 8 x labels
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-chart": series },
    marks.map((v) => [
      s("line", { class: v === 0 ? "axis" : "grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
      s("text", { class: "tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, v),
    ]),
    rows.map((r, i) => {
      const x = PAD.left + i * slot + (slot - bw) / 2;
      const label = stepLabel(r.t, step);
      return [
        s("rect", { class: "bar", x, y: y(values[i]), width: bw, height: PAD.top + ih - y(values[i]),
          "data-value": values[i], "data-time": new Date(r.t).toISOString() },
          s("title", {}, label + ": " + values[i])),
        i % every === 0 ? s("text", { class: "tick", x: x + bw / 2, y: H - 8, "text-anchor": "middle" }, label) : null,
      ];
    }));
  return h("figure", { class: "panel chart-panel" },
    h("figcaption", {}, h("span", {}, title), h("span", { class: "muted", "data-total": sum(values) }, "total " + sum(values))),
    svg);
}

function renderCharts(points, from, to, step) {
  const rows = slots(points, from, to, step);
  const per = step === "day" ? " per day" : " per hour";
  fill($("charts"),
    chart("messages_in", "Messages in" + per, rows, step),
    chart("messages_out", "Messages out" + per, rows, step),
    chart("handoffs", "Handoffs" + per, rows, step),
    chart("failed", "Failures" + per, rows, step));
}

function renderNumbers(numbers) {
  const rows = numbers.map((n) => {
    const tried = (n.accepted || 0) + (n.throttled || 0);
    const share = tried > 0 ? n.throttled / tried : 0;
    return h("tr", { "data-number": n.phone_number_id },
      h("td", { class: "mono" }, n.phone_number_id),
      ["accepted", "throttled", "failed", "peak_per_hour"].map((f) =>
        h("td", { class: "num", "data-field": f, "data-value": n[f] || 0 }, fmt.int(n[f]))),
      h("td", { class: "share" },
        h("meter", { min: 0, max: 1, low: 0.05, high: 0.25, optimum: 0, value: share }),
        h("span", { class: "muted" }, fmt.pct(share))));
  });
  if (rows.length === 0) rows.push(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No number was active in this period.")));
  fill($("numbers").tBodies[0], rows);
}

// renderAlerts shows every field an alert has: the rules that raise them
// decide what they carry.
function renderAlerts(alerts) {
  const shown = new Set(["id", "kind", "time", "status", "reason"]);
  const items = alerts.map((a) => {
    const extra = Object.entries(a).filter(([k, v]) => !shown.has(k) && v !== "" && v !== 0 && v !== false && v !== null);
    const cls = a.status === "resolved" ? "badge ok" : a.status === "firing" ? "badge bad" : "badge";
    return h("li", { class: "alert", "data-alert": a.id, "data-status": a.status || null },
      h("div", { class: "alert-head" },
        a.status ? h("span", { class: cls }, a.status) : null,
        h("strong", {}, a.reason || a.kind || "alert"),
        h("time", { class: "muted", datetime: a.time }, when(a.time))),
      extra.length > 0 ? h("dl", {}, extra.map(([k, v]) => [
        h("dt", {}, k.replaceAll("_", " ")),
        h("dd", {}, typeof v === "object" ? JSON.stringify(v) : v),
      ])) : null);
  });
  if (items.length === 0) items.push(h("li", { class: "empty" }, "No alerts in this period."));
  const ul = $("alerts");
  ul.dataset.count = alerts.length;
  fill(ul, items);
}

function modeBadge(mode) {
  return h("span", { class: "badge mode-" + (mode === "human" ? "human" : "bot"), "data-mode": mode || "bot" }, mode || "bot");
}

function renderConversations(list) {
  const ul = $("conversations");
  ul.dataset.count = list.length;
  const items = list.map((c) => h("li", {},
    h("button", { type: "button", class: c.id === state.selected ? "conv selected" : "conv", "data-conversation": c.id, "data-mode": c.handoff.mode },
      h("span", { class: "conv-head" },
        h("strong", {}, c.profile_name || c.id),
        modeBadge(c.handoff.mode),
        h("time", { class: "muted", datetime: c.updated_at }, when(c.updated_at))),
      h("span", { class: "conv-last muted" }, c.last_text || "—"),
      h("span", { class: "small muted" }, c.tenant + " · " + c.phone_number_id))));
  if (items.length === 0) items.push(h("li", { class: "empty" }, "No conversations yet."));
  fill(ul, items);
}

function turn(m) {
  const meta = [when(m.time), m.origin, m.status, m.error_code ? "error " + m.error_code : ""].filter(Boolean);
  return h("li", { class: m.dir === "in" ? "turn in" : "turn out", "data-dir": m.dir },
    h("div", { class: "bubble" }, m.text || "[" + m.type + "]"),
    h("div", { class: "meta muted" }, meta.join(" · ")));
}

function renderConversation(data) {
  const view = $("conversation");
  if (!data) {
    view.removeAttribute("data-conversation");
    fill(view, h("p", { class: "empty" }, "Choose a conversation."));
    return;
  }
  const c = data.conversation;
  const ho = c.handoff || {};
  const who = [c.wa_id ? "+" + c.wa_id : c.user, c.tenant, c.phone_number_id].filter(Boolean).join(" · ");
  const turns = h("ol", { class: "turns", "data-count": c.messages.length }, c.messages.map(turn));
  // Follow new messages unless the reader scrolled up in this conversation.
  const prev = view.dataset.conversation === c.id ? view.querySelector(".turns") : null;
  const follow = !prev || prev.scrollTop + prev.clientHeight >= prev.scrollHeight - 8;
  const scrollTop = prev ? prev.scrollTop : 0;
  view.dataset.conversation = c.id;
  fill(view,
    h("header", { class: "conv-title" },
      h("div", {}, h("h3", {}, c.profile_name || c.user), h("div", { class: "small muted" }, who)),
      h("div", { class: "conv-state" },
        modeBadge(ho.mode),
        h("span", { class: "small muted" }, data.window_open ? "window open" : "window closed"))),
    ho.mode === "human"
      ? h("p", { class: "handoff small" }, "With a person since " + when(ho.since) + (ho.by ? " (" + ho.by + ")" : "") + (ho.reason ? ": " + ho.reason : ""))
      : null,
    turns);
  turns.scrollTop = follow ? turns.scrollHeight : scrollTop;
}

// ---- start -------------------------------------------------------------

takeTokenFromURL();
$("tenant").addEventListener("change", (e) => {
  state.tenant = e.target.value;
  state.selected = "";
  refresh();
});
$("period").addEventListener("change", (e) => {
  state.period = e.target.value;
  refresh();
});
$("conversations").addEventListener("click", (e) => {
  const b = e.target.closest("[data-conversation]");
  if (b) select(b.dataset.conversation);
});
$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  $("login").hidden = true;
  $("main").hidden = false;
  refresh();
});
refresh();
