// routerd's dashboard: reads /dashboard/data, draws it with inline SVG, and sends ratings and
// reroutes to /dashboard/feedback. No libraries; everything is built with DOM calls (the page's
// Content-Security-Policy allows no inline script or style).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let loads = 0;

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.flat());
  return node;
}

const usd = (v) => (v === null || v === undefined ? "-" : "$" + Number(v).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 5 : 2));
// A group's cost: "unknown" when none of its calls has a known price (never $0, which would say they
// were free), marked * when some of them are left out of it.
const groupUsd = (r) => (r.uncosted_calls && r.uncosted_calls >= r.calls ? "unknown"
  : usd(r.cost_usd) + (r.uncosted_calls ? "*" : ""));
const ms = (v) => (v === null || v === undefined ? "-" : Number(v).toFixed(v < 10 ? 2 : 0));
const pct = (v) => (v === null || v === undefined ? "-" : Math.round(v * 100) + "%");

function totals(t, against) {
  const figure = (label, value) => el("span", {class: "figure"}, el("b", {}, value), label);
  fill("totals",
    figure("calls", t.calls), figure("spent", groupUsd(t)), figure("baseline", usd(t.baseline_cost_usd)),
    figure("saved", t.saved_usd === null ? "-" : usd(t.saved_usd) + (t.saved_pct === null ? "" : ` (${t.saved_pct}%)`)),
    // Input tokens already count the cache reads (and writes): shown beside them, not added again.
    figure("tokens in (cached) / out", `${t.input_tokens} (${t.cache_read_tokens}) / ${t.output_tokens}`),
    // Hosted web searches are billed per search (in the spend): shown when there were any.
    t.web_searches ? figure("web searches", t.web_searches) : [],
    // What "baseline" and "saved" compare against, in the daemon's words.
    against ? el("p", {class: "against"}, "baseline: " + against) : []);
}

// Cost against baseline per day: a pair of bars per day (the baseline, grey, behind the cost).
// Past the days the data lists, the report folds the earlier ones into one "(N earlier)" row: a sum
// of many days, it is no day and gets no bar (as one it set the y-axis and flattened every real
// day); its total is written under the chart instead.
function spendChart(rows) {
  const isDay = (d) => /^\d{4}-\d{2}-\d{2}$/.test(String(d.day));
  const days = rows.filter(isDay), earlier = rows.filter((d) => !isDay(d));
  const cost = (d) => d.priced_cost_usd ?? d.cost_usd ?? 0, base = (d) => d.baseline_cost_usd ?? 0;
  const notes = earlier.map((d) => el("p", {class: "earlier", "data-cost": cost(d), "data-baseline": base(d)},
    `${String(d.day).replace(/^\((\d+) earlier\)$/, "$1 earlier days")}: ${d.calls} calls, spent ${usd(cost(d))} against a baseline of ${usd(base(d))}`));
  if (!days.length) return fill("spend", el("p", {}, "no calls in this period"), notes);
  const W = 520, H = 200, left = 56, bottom = 24;
  const top = Math.max(...days.map((d) => Math.max(cost(d), base(d))), 1e-9);
  const step = (W - left) / days.length, bar = Math.max(2, Math.min(24, step * 0.35));
  const y = (v) => (H - bottom) * (1 - v / top);
  const chart = el("svg:svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "spend against baseline"},
    el("svg:line", {x1: left, y1: H - bottom, x2: W, y2: H - bottom, stroke: "#9ca3af"}),
    el("svg:text", {x: left - 4, y: 12, "text-anchor": "end", "font-size": 11, "data-axis": "top"}, usd(top)),
    el("svg:text", {x: left - 4, y: H - bottom, "text-anchor": "end", "font-size": 11}, "$0"));
  days.forEach((d, i) => {
    const x = left + i * step + step / 2;
    chart.append(
      el("svg:rect", {x: x - bar, y: y(base(d)), width: bar, height: H - bottom - y(base(d)), fill: "#9ca3af",
                      "data-series": "baseline", "data-value": base(d)}, el("svg:title", {}, `${d.day} baseline ${usd(base(d))}`)),
      el("svg:rect", {x: x, y: y(cost(d)), width: bar, height: H - bottom - y(cost(d)), fill: "#3b82f6",
                      "data-series": "cost", "data-value": cost(d)}, el("svg:title", {}, `${d.day} spent ${usd(cost(d))}`)));
    if (days.length <= 12 || i % Math.ceil(days.length / 12) === 0) {
      chart.append(el("svg:text", {x, y: H - 6, "text-anchor": "middle", "font-size": 10}, String(d.day).slice(5)));
    }
  });
  fill("spend", chart, el("div", {class: "legend"},
    el("span", {class: "swatch-cost"}, "\u25A0 spent"), el("span", {class: "swatch-baseline"}, "\u25A0 baseline")),
    notes);
}

// Calls per group as horizontal bars, with each group's cost.
function barChart(id, rows, key) {
  if (!rows.length) return fill(id, el("p", {}, "no calls in this period"));
  const W = 520, row = 22, label = 190, H = rows.length * row + 4;
  const top = Math.max(...rows.map((r) => r.calls), 1);
  const chart = el("svg:svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `calls by ${key}`});
  rows.forEach((r, i) => {
    const width = Math.max(1, (W - label - 110) * r.calls / top), name = r[key] ?? "(no tier)";
    chart.append(
      el("svg:text", {x: label - 6, y: i * row + 15, "text-anchor": "end", "font-size": 12}, String(name).slice(0, 28)),
      el("svg:rect", {x: label, y: i * row + 4, width, height: row - 8, fill: "#3b82f6", "data-key": name,
                      "data-value": r.calls}, el("svg:title", {}, `${name}: ${r.calls} calls, ${groupUsd(r)}`)),
      el("svg:text", {x: label + width + 6, y: i * row + 15, "font-size": 11, "data-cost": groupUsd(r)},
         `${r.calls} \u00b7 ${groupUsd(r)}`));
  });
  fill(id, chart);
}

function latency(d) {
  const row = (name, p, note) => el("tr", {}, el("td", {}, name), el("td", {class: "num"}, p.n),
    el("td", {class: "num"}, ms(p.p50)), el("td", {class: "num"}, ms(p.p90)), el("td", {class: "num"}, ms(p.p99)),
    el("td", {}, note));
  fill("latency", el("tr", {}, el("th", {}, ""), el("th", {class: "num"}, "n"), el("th", {class: "num"}, "p50"),
    el("th", {class: "num"}, "p90"), el("th", {class: "num"}, "p99"), el("th", {}, "")),
    row("latency", d.latency, "last 24 h"), row("first byte", d.ttft, "last 24 h"),
    row("routerd overhead", d.overhead, "since start"));
}

function breakers(list) {
  if (!list.length) return fill("breakers", el("tr", {}, el("td", {}, "no provider has been called yet")));
  fill("breakers", el("tr", {}, el("th", {}, "provider"), el("th", {}, "state"), el("th", {class: "num"}, "recent failures")),
    list.map((b) => el("tr", {}, el("td", {}, b.provider), el("td", {class: "state-" + b.state}, b.state.replace("_", "-")),
      el("td", {class: "num"}, pct(b.recent_failure_rate)))));
}

function budget(b) {
  const spend = Object.entries(b.spend_usd).map(([p, v]) => `${p} ${usd(v)}`).join(" \u00b7 ");
  const meter = (share, level) => {
    const bar = el("div", {class: "bar " + (level === "capped" ? "over" : level === "ok" ? "" : "warn")}, el("span"));
    bar.firstChild.style.width = Math.min(100, share * 100) + "%";
    return bar;
  };
  fill("budget",
    el("p", {}, `pressure ${b.pressure.toFixed(2)} (${b.level}) \u00b7 spent ${spend}`),
    b.configured ? null : el("p", {}, "no [budgets] configured"),
    b.limits.map((x) => el("div", {}, `${x.name}: ${x.used.toFixed(x.metric === "usd" ? 2 : 0)} of ${x.limit} ${x.metric} (${pct(x.share)})`,
      meter(x.share, x.level))),
    b.windows.map((w) => el("div", {}, `${w.provider} ${w.name}: ${pct(w.used_share)} used`, meter(w.used_share, "ok"))));
}

function decisions(list, tiers) {
  const head = el("tr", {}, ["time", "source", "tier", "decided", "answered by", "cost", "feedback", ""].map(
    (h) => el("th", {class: h === "cost" ? "num" : null}, h)));
  fill("decisions", head, list.map((d) => {
    const select = el("select", {"aria-label": "reroute to"}, tiers.map((t) => el("option", {value: t}, t)));
    const reroute = el("button", {"data-reroute": d.id, title: "this should have gone to another tier"}, "reroute");
    reroute.addEventListener("click", () => send({type: "reroute", decision_id: d.id, to: select.value}));
    const rate = (rating, label) => {
      const button = el("button", {"data-rate": rating, "data-decision": d.id, title: `rate this routing ${rating}`}, label);
      button.addEventListener("click", () => send({type: "rate", decision_id: d.id, rating}));
      return button;
    };
    const decided = d.provider && d.model ? `${d.provider}/${d.model}` : d.model;
    return el("tr", {"data-decision": d.id},
      el("td", {}, new Date(d.ts * 1000).toLocaleString()), el("td", {}, d.source), el("td", {}, d.tier ?? "-"),
      el("td", {}, decided ?? "-"), el("td", {}, d.answered_by ?? "-"), el("td", {class: "num"}, usd(d.cost_usd)),
      el("td", {class: "feedback"}, d.feedback ?? ""),
      el("td", {}, rate("good", "good"), " ", rate("bad", "bad"), " ", select, " ", reroute));
  }));
}

function headers() {
  const key = document.getElementById("key").value.trim();
  sessionStorage.setItem("routerd-key", key);
  return key ? {authorization: "Bearer " + key} : {};
}

async function send(request) {
  const message = document.getElementById("message");
  const answer = await fetch("/dashboard/feedback", {method: "POST", body: JSON.stringify(request),
    headers: {"content-type": "application/json", ...headers()}});
  const body = await answer.json().catch(() => ({}));
  message.textContent = answer.ok ? body.message : (body.error?.message ?? `failed (${answer.status})`);
  if (answer.ok) await load();
}

async function load() {
  const period = document.getElementById("period").value;
  const answer = await fetch(`/dashboard/data?period=${encodeURIComponent(period)}&decisions=25`, {headers: headers()});
  const data = await answer.json();
  if (!answer.ok) {
    document.getElementById("message").textContent = data.error?.message ?? `failed (${answer.status})`;
    return;
  }
  totals(data.total, data.compared_with);
  spendChart(data.days);
  barChart("models", data.models, "model");
  barChart("tiers", data.tiers, "tier");
  latency(data);
  breakers(data.breakers);
  budget(data.budget);
  decisions(data.decisions, data.tiers_to);
  document.getElementById("updated").textContent = "updated " + new Date(data.generated_at * 1000).toLocaleTimeString();
  document.body.dataset.loads = String(++loads);
}

document.getElementById("key").value = sessionStorage.getItem("routerd-key") ?? "";
// The page opens on the period its URL names (/dashboard?period=week: a bookmark, a shared link),
// and a period chosen here goes into the URL, so that a reload keeps it.
const periodSelect = document.getElementById("period");
const asked = new URLSearchParams(location.search).get("period");
if ([...periodSelect.options].some(option => option.value === asked)) periodSelect.value = asked;
periodSelect.addEventListener("change", () => {
  const url = new URL(location.href);
  url.searchParams.set("period", periodSelect.value);
  history.replaceState(null, "", url);
  load();
});
load();
setInterval(load, 15000);
