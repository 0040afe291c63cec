// relay/admin/status_page.cpp — the admin status page, embedded in the binary.
//
// Owns: one self-contained HTML document (inline CSS and JS, no CDN, no external file)
// showing per-direction throughput over the last hour (messages/s in and out, drawn as
// inline SVG from the daemon's 10-second ring buffer), the queue by direction in the
// summary, queue depth, listeners with their policy refusals by reason, hops in the one
// state vocabulary of health::hop_states (usable, path down, check down, suspended,
// ejected until),
// the health paths (UP/DOWN/maintenance, since, changes) and which paths each hop
// depends on, and the content filters (up or down, failures, last error). The status JSON is embedded at render time, so the page works
// without further requests and with a bearer token; it reloads itself every 10 s unless
// the administrator is using the admin box. The admin box: a message-trace search over
// the tracking records (GET /api/tracking?by_message=1, the search of `hubrelay track`)
// shown as each message's story, its records under one heading per queue id; bookmarkable
// as #trace:sender=...&recipient=...&message_id=...) and, for a user who gives the token, hop suspend and
// resume buttons (POST /api/hops/HOP/suspend|resume with Authorization: Bearer). Plain JS.
// Never: loads anything from another origin.
#include <string>

#include "relay/admin/admin_http.hpp"

namespace relay::admin {
namespace {

constexpr std::string_view page_head = R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hubrelay status</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:16px 0 6px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #ddd;padding:8px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#eee}td:first-child,th:first-child{text-align:left}
.up,.usable{color:#080;font-weight:bold}.ejected,.down,.path-down,.check-down{color:#c00;font-weight:bold}
.maintenance,.suspended{color:#b60;font-weight:bold}.why{font-size:12px;color:#555}
.dep{margin-right:6px}.legend span{margin-right:12px}
#admin form{margin:4px 0}.story{margin:6px 0}.story-head{font-weight:bold}#admin input{margin-right:6px}#admin-result{font-size:12px;color:#555}
</style></head><body>
<h1>hubrelay status</h1><div id="summary"></div><div id="summary-queue"></div>
<h2>Throughput, last hour (messages/s, 10-second buckets)</h2><div class="charts" id="charts"></div>
<h2>Queue</h2><div id="queue"></div><div id="waiting"></div>
<h2>Listeners</h2><div id="listeners"></div>
<h2>Next hops</h2><div id="hops"></div>
<h2>Health paths</h2><div id="paths"></div>
<h2>Content filters</h2><div id="milters"></div>
<h2>Administration</h2><div id="admin">
<form id="trace-form"><label>sender <input name="sender" id="trace-sender" size="28"></label>
<label>recipient <input name="recipient" id="trace-recipient" size="28"></label>
<label>Message-ID <input name="message_id" id="trace-message-id" size="28"></label>
<label>since <input name="since" id="trace-since" size="5" value="7d"></label>
<button type="submit" id="trace-search">trace</button></form><div id="trace-results"></div>
<form id="token-form"><label>token <input type="password" id="admin-token" size="28" autocomplete="off"></label>
<label>suspend for <input id="suspend-duration" value="30m" size="5"></label>
<span class="why">needed for the hop buttons (and for reading, when the endpoint has a token)</span></form>
<div id="admin-result"></div></div>
<script id="status-data" type="application/json">)html";

// The deferred messages of /api/queue?state=deferred (JSON lines), as one JSON array.
constexpr std::string_view page_waiting = R"html(</script>
<script id="waiting-data" type="application/json">)html";

constexpr std::string_view page_tail = R"html(</script>
<script>
"use strict";
const S = JSON.parse(document.getElementById("status-data").textContent);
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function chart(title, seriesIn, seriesOut) {
  const W = 540, H = 220, L = 48, B = 24, T = 22;
  const box = document.createElement("div");
  box.className = "chart";
  const svg = el("svg", {width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-title": title});
  const rates = [seriesIn.map(v => v / 10), seriesOut.map(v => v / 10)];
  const max = Math.max(0.1, ...rates[0], ...rates[1]);
  const n = Math.max(seriesIn.length, 2);
  const x = i => L + (W - L - 8) * i / (n - 1);
  const y = v => H - B - (H - B - T) * v / max;
  el("text", {x: L, y: 14, "font-size": 13, "font-weight": "bold"}, svg).textContent = title;
  for (let k = 0; k <= 4; ++k) {
    const v = max * k / 4;
    el("line", {x1: L, x2: W - 8, y1: y(v), y2: y(v), stroke: "#eee"}, svg);
    el("text", {x: L - 4, y: y(v) + 4, "font-size": 10, "text-anchor": "end"}, svg).textContent = v.toFixed(v < 1 ? 2 : 1);
  }
  el("text", {x: L, y: H - 6, "font-size": 10}, svg).textContent = "-60 min";
  el("text", {x: W - 8, y: H - 6, "font-size": 10, "text-anchor": "end"}, svg).textContent = "now";
  const colors = ["#1f77b4", "#d62728"], names = ["in", "out"];
  rates.forEach((r, s) => {
    const points = r.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    el("polyline", {points, fill: "none", stroke: colors[s], "stroke-width": 1.5, class: "series series-" + names[s],
                    "data-points": r.length, "data-total": r.reduce((a, b) => a + b, 0) * 10}, svg);
  });
  box.appendChild(svg);
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = `<span style="color:${colors[0]}">&#9632; in (received)</span><span style="color:${colors[1]}">&#9632; out (delivered)</span>`;
  box.appendChild(legend);
  document.getElementById("charts").appendChild(box);
}
function table(id, head, rows) {
  const t = document.createElement("table");
  t.innerHTML = "<tr>" + head.map(h => `<th>${h}</th>`).join("") + "</tr>" +
    rows.map(r => "<tr>" + r.map(c => `<td>${c}</td>`).join("") + "</tr>").join("");
  document.getElementById(id).appendChild(t);
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
for (const d of ["inbound", "outbound"]) chart(d, S.directions[d].series_in, S.directions[d].series_out);
document.getElementById("summary").textContent =
  `node ${S.node} (queue ${S.queue_backend}), ` +
  `version ${S.version}${S.revision ? ` (${S.revision})` : ""}, up ${Math.round((S.now - S.started) / 60)} min, ` +
  `${S.in_flight} message(s) in delivery` +
  (S.draining ? ", DRAINING" : "");
// Waiting mail per direction (the listener that accepted it), beside the totals below.
const byDirection = (S.queue && S.queue.directions) || {};
if (S.queue && S.queue.directions)
  table("summary-queue", ["queue by direction", "queued", "deferred", "held", "recipients", "bytes", "oldest (s)"],
        ["inbound", "outbound"].map(d => { const x = byDirection[d];
          return [d, x.queued, x.deferred, x.held, x.recipients, x.bytes, Math.round(x.oldest_seconds)]; }));
const q = S.queue;
table("queue", ["queued", "deferred", "held", "recipients", "bytes", "oldest (s)"],
      q.error ? [[esc(q.error), "", "", "", "", ""]] : [[q.queued, q.deferred, q.held, q.recipients, q.bytes, Math.round(q.oldest_seconds)]]);
// Why deferred mail waits: each recipient's last real error (with its hop) and its park.
const waiting = JSON.parse(document.getElementById("waiting-data").textContent || "[]");
const waitingRows = waiting.flatMap(m => m.recipients.filter(r => r.state === "pending").map(r =>
  [esc(m.id), esc(r.address), r.attempts, esc(r.hop || "-"), esc(r.last_reply || "-"),
   r.parked_on ? `${esc(r.parked_on)} since ${esc(r.parked_since)}` +
                 (r.last_reply || !r.parked_reason ? "" : `: ${esc(r.parked_reason)}`) : "-"]));
if (waitingRows.length)
  table("waiting", ["deferred message", "recipient", "attempts", "last hop", "last error", "parked on route"], waitingRows);
// Policy refusals (relay denied, sender or recipient refused, rate limited, DNSBL, ...) by reason.
const refusals = l => Object.entries(l.refusals || {}).map(([r, n]) => `<span class="refusal" data-reason="${esc(r)}">${esc(r)} ${n}</span>`)
  .join(", ") || "-";
table("listeners", ["listener", "direction", "sessions", "accepted", "rejected", "messages", "bytes", "in/s 1m", "out/s 1m",
                    "policy refusals"],
      S.listeners.map(l => [esc(l.name), l.direction, l.sessions_active, l.connections_accepted, l.connections_rejected,
                            l.messages_received, l.bytes_received, S.directions[l.direction].rate_in[0].toFixed(2),
                            S.directions[l.direction].rate_out[0].toFixed(2), refusals(l)]));
// Health paths: a hop is usable only while every path it depends on is up.
const paths = S.paths || [];
const pathState = name => { const p = paths.find(x => x.name === name); return p ? p.state : "unknown"; };
const when = t => t ? new Date(t * 1000).toISOString().replace(".000Z", "Z") : "-";
// A hop's state as health.json says it: usable, path down, check down, suspended, ejected (until).
const hopState = h => `<span class="hop-state ${esc(h.state.replace(/ /g, "-"))}" data-state="${esc(h.state)}">${esc(h.state)}` +
  (h.state === "ejected" ? ` until ${when(h.ejected_until)}` : "") +
  (h.state === "suspended" && h.suspended_until ? ` until ${when(h.suspended_until)}` : "") + "</span>" +
  (h.last_error ? `<div class="why">${esc(h.last_error)}</div>` : "");
const hopButtons = h => `<button type="button" class="hop-suspend" data-hop="${esc(h.name)}">suspend</button>` +
  `<button type="button" class="hop-resume" data-hop="${esc(h.name)}">resume</button>`;
table("hops", ["hop", "state", "connections", "window / max", "throttled", "attempts", "successes", "failures",
               "depends on paths", "admin"],
      S.hops.map(h => [esc(h.name), hopState(h), h.connections, `${h.window} / ${h.max_connections}`, h.throttled, h.attempts,
                       h.successes, h.failures,
                       (h.paths || []).map(n => `<span class="dep ${esc(pathState(n))}" data-path="${esc(n)}">${esc(n)}</span>`)
                         .join("") || "-", hopButtons(h)]));
if (paths.length)
  table("paths", ["path", "state", "since (UTC)", "changes", "used by hops"],
        paths.map(p => [esc(p.name), `<span class="${esc(p.state)}">${esc(p.state)}</span>`, when(p.since), p.transitions,
                        esc(S.hops.filter(h => (h.paths || []).includes(p.name)).map(h => h.name).join(", ") || "-")]));
else
  document.getElementById("paths").textContent = "no health paths configured (or no check has run yet)";
// Content filters (milters): down while in the back-off after a failure (default_action applies).
const milters = S.milters || [];
if (milters.length)
  table("milters", ["milter", "address", "state", "failures", "last error"],
        milters.map(m => [esc(m.name), esc(m.address), `<span class="${m.up ? "up" : "down"}">${m.up ? "up" : "down"}</span>`,
                          m.failures, esc(m.last_error || "-")]));
else
  document.getElementById("milters").textContent = "no content filters configured";
// --- administration ---------------------------------------------------------------------
const tokenBox = document.getElementById("admin-token");
tokenBox.value = sessionStorage.getItem("hubrelay-token") || new URLSearchParams(location.search).get("token") || "";
tokenBox.addEventListener("change", () => sessionStorage.setItem("hubrelay-token", tokenBox.value));
let busy = false;  // no reload while the administrator searches or acts
const say = text => { document.getElementById("admin-result").textContent = text; };
function api(method, url, body) {
  const headers = {};
  if (tokenBox.value) headers.Authorization = "Bearer " + tokenBox.value;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
}
async function errorText(r) {
  const text = await r.text();
  try { return `${r.status}: ${JSON.parse(text).error.message}`; } catch (e) { return `${r.status}: ${text}`; }
}
// The tracking records found, grouped by message (queue id) in the order each first
// appears; refusals before a message existed (no queue id) come last.
function stories(records) {
  const groups = new Map();
  for (const r of records) {
    const id = r.queue_id || "";
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(r);
  }
  const refused = groups.get("");
  groups.delete("");
  if (refused) groups.set("", refused);
  return groups;
}
function happened(r) {
  const parts = [r.event];
  if (r.event === "receive") parts.push(`from ${r.client || "?"}` + (r.helo ? ` (helo ${r.helo})` : "") +
                                        (r.tls_protocol ? ` over ${r.tls_protocol}` : ""));
  if (r.hop) parts.push(`at hop ${r.hop}` + (r.remote ? ` (${r.remote})` : ""));
  if (r.recipients && r.event !== "receive" && r.event !== "queue") parts.push("for " + r.recipients.map(a => `<${a}>`).join(", "));
  if (r.attempt) parts.push(`attempt ${r.attempt}`);
  if (r.stage) parts.push(`[${r.stage}]`);
  if (r.reason) parts.push(r.reason);
  if (r.reply) parts.push(": " + r.reply);
  if (r.actor) parts.push(`by ${r.actor}`);
  return parts.join(" ");
}
async function trace(criteria) {
  busy = true;
  const params = new URLSearchParams({by_message: "1", limit: "500"});
  for (const [k, v] of Object.entries(criteria)) if (v) params.set(k, v);
  const out = document.getElementById("trace-results");
  out.textContent = "searching...";
  const r = await api("GET", "/api/tracking?" + params);
  if (!r.ok) { out.textContent = "search failed: " + await errorText(r); out.setAttribute("data-count", "error"); return; }
  const answer = await r.json();
  const groups = stories(answer.records);
  out.textContent = "";
  out.setAttribute("data-count", String([...groups.keys()].filter(Boolean).length));
  if (!answer.records.length) { out.textContent = "no tracking record matches"; return; }
  let html = answer.truncated ? `<p class="why">only the newest ${answer.limit} records: narrow the search</p>` : "";
  for (const [id, records] of groups) {
    const first = records.find(x => x.message_id) || records[0];
    const sender = records.find(x => x.sender !== undefined);
    html += `<div class="story"><div class="story-head">` + (id ? `message <span class="trace-id">${esc(id)}</span>`
      : "refused before a message was queued") + (first.message_id ? ` &lt;${esc(first.message_id)}&gt;` : "") +
      (id && sender ? ` from &lt;${esc(sender.sender)}&gt;` : "") + (first.size ? ` size ${first.size}` : "") + "</div>";
    html += "<table>" + records.map(x => `<tr class="trace-event" data-event="${esc(x.event)}"><td>${esc(x.time.replace("T", " ").replace("Z", ""))}</td>` +
      `<td>${esc(happened(x))}</td></tr>`).join("") + "</table></div>";
  }
  out.innerHTML = html;
}
function traceBox() {
  const value = id => document.getElementById(id).value.trim();
  return {sender: value("trace-sender"), recipient: value("trace-recipient"), message_id: value("trace-message-id"),
          since: value("trace-since")};
}
document.getElementById("trace-form").addEventListener("submit", ev => {
  ev.preventDefault();
  trace(traceBox());
});
document.getElementById("token-form").addEventListener("submit", ev => ev.preventDefault());
async function hopAction(hop, verb) {
  busy = true;
  const body = verb === "suspend" ? {duration: document.getElementById("suspend-duration").value.trim(),
                                     reason: "from the status page"} : {};
  const r = await api("POST", `/api/hops/${encodeURIComponent(hop)}/${verb}`, body);
  if (!r.ok) { say(`${verb} ${hop} failed: ` + await errorText(r)); return; }
  const done = await r.json();
  say(`${hop}: ${done.state}` + (done.suspended_until ? ` until ${when(done.suspended_until)}` : ""));
  busy = false;
  setTimeout(() => location.reload(), 1500);
}
for (const b of document.querySelectorAll(".hop-suspend, .hop-resume"))
  b.addEventListener("click", () => hopAction(b.dataset.hop, b.classList.contains("hop-suspend") ? "suspend" : "resume"));
// #trace:sender=a@b&recipient=c&message_id=m&since=2d: a search that can be bookmarked or linked.
if (location.hash.startsWith("#trace:")) {
  const p = new URLSearchParams(location.hash.slice(7));
  for (const [name, id] of [["sender", "trace-sender"], ["recipient", "trace-recipient"],
                            ["message_id", "trace-message-id"], ["since", "trace-since"]])
    if (p.has(name)) document.getElementById(id).value = p.get(name);
  trace(traceBox());
}
for (const input of document.querySelectorAll("#admin input")) input.addEventListener("focus", () => { busy = true; });
setInterval(() => { if (!busy) location.reload(); }, 10000);
document.body.setAttribute("data-rendered", "yes");
</script></body></html>
)html";

}  // namespace

std::string status_page(const std::string& status_json, const std::string& waiting_lines) {
  std::string page(page_head);
  // "</" inside the JSON would end the <script> element early; "<\/" is the same JSON.
  const auto embed = [&page](std::string_view json) {
    for (std::size_t i = 0; i < json.size(); ++i) {
      if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
        page += "<\\/";
        ++i;
      } else {
        page += json[i];
      }
    }
  };
  embed(status_json);
  page += page_waiting;
  std::string waiting = "[";
  for (std::size_t start = 0; start < waiting_lines.size();) {
    std::size_t end = waiting_lines.find('\n', start);
    if (end == std::string::npos) end = waiting_lines.size();
    if (end > start) waiting += (waiting.size() > 1 ? "," : "") + waiting_lines.substr(start, end - start);
    start = end + 1;
  }
  embed(waiting + "]");
  page += page_tail;
  return page;
}

}  // namespace relay::admin
