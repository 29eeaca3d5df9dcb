/*
 * liveshop dashboard (web/dashboard.html): a show's numbers (SPEC §14)
 * as tiles, charts and tables, from GET …/report?show=ID and
 * …/report?shows=N, and live while the show is on air from the stream's
 * Server-Sent Events (SPEC §8): audience messages add viewer points,
 * pins draw as they come, purchases add order points, and the report is
 * fetched again (at most every 10 s) for the exact figures.
 *
 * The charts are uPlot's (window.uPlot, from npm through
 * scripts/setup-web.sh). Every chart has a text summary and its data as
 * a table; every figure shown is the report's, only formatted: money
 * keeps the decimals of the report's strings, ratios are percentages
 * with one decimal.
 */

const REFRESH_MS = 10000;        // the report again, at most this often
const LIVE_POLL_MS = 30000;      // impressions and clicks come in no event
const TICK_MS = 5000;            // a live chart's time axis moves on
const FINAL_TALLY_MS = 3000;     // after show.ended, the report once more
const TREND_SHOWS = 10;

const C = {
  axis: "#c3c9d2",
  grid: "rgba(255, 255, 255, 0.09)",
  viewers: "#5cc8ff",
  viewersFill: "rgba(92, 200, 255, 0.14)",
  orders: "#ffb547",
  gmv: "#7ee081",
  gmvFill: "rgba(126, 224, 129, 0.10)",
  bands: ["rgba(214, 156, 255, 0.20)", "rgba(214, 156, 255, 0.10)"],
  bandEdge: "#d69cff",
  labelBg: "rgba(20, 22, 26, 0.88)",
  labelFg: "#f1e6ff",
  font: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
};

/* ---- formatting: the report's figures, never recomputed ------------- */

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const NA = "—";

export function formatCount(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return NA;
  return intFmt.format(Number(n));
}

export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) {
    return NA;
  }
  return (ratio * 100).toFixed(1) + "%";
}

function groupDigits(int) {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function currencyParts(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .formatToParts(1);
  } catch (e) {
    return null;
  }
}

function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
  } catch (e) {
    return 2;
  }
}

/*
 * An amount: a decimal string keeps its digits as they are ("1234.50 EUR"
 * is €1,234.50, "7 EUR" is €7); a number (a chart's running total) gets
 * the currency's usual decimals. The currency sign as English puts it.
 */
export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return NA;
  let text = typeof amount === "number"
    ? amount.toFixed(currency ? fractionDigits(currency) : 2)
    : String(amount);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return text + (currency ? " " + currency : "");
  const [, sign, int, frac] = m;
  const parts = currency ? currencyParts(currency) : null;
  if (!parts) {
    return sign + groupDigits(int) + (frac !== undefined ? "." + frac : "") +
           (currency ? " " + currency : "");
  }
  let out = "";
  for (const p of parts) {
    if (p.type === "integer") out += groupDigits(int);
    else if (p.type === "decimal") out += frac !== undefined ? "." : "";
    else if (p.type === "fraction") out += frac !== undefined ? frac : "";
    else if (p.type !== "group" && p.type !== "minusSign") out += p.value;
  }
  return sign + out;
}

/* GMV in several currencies (its single amount null): "€12.00 + $5.00". */
export function formatMoneyOf(obj, key) {
  const v = obj ? obj[key] : null;
  if (v !== null && v !== undefined) return formatMoney(v, obj.currency);
  const by = obj ? obj[key + "_by_currency"] : null;
  if (by && typeof by === "object") {
    const list = Array.isArray(by)
      ? by.map((e) => formatMoney(e.amount ?? e.gmv ?? e.value, e.currency))
      : Object.keys(by).sort().map((c) => formatMoney(by[c], c));
    if (list.length) return list.join(" + ");
  }
  return NA;
}

/* Seconds as people say them: 42 s, 12 min 05 s, 1 h 02 min. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return NA;
  }
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return Math.floor(s / 60) + " min " + pad(s % 60) + " s";
  return intFmt.format(Math.floor(s / 3600)) + " h " +
         pad(Math.floor(s / 60) % 60) + " min";
}

const clockFmt = new Intl.DateTimeFormat("en-GB",
  { hour: "2-digit", minute: "2-digit" });
const clockSecFmt = new Intl.DateTimeFormat("en-GB",
  { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dayFmt = new Intl.DateTimeFormat("en-GB",
  { weekday: "short", day: "numeric", month: "short" });
const shortDayFmt = new Intl.DateTimeFormat("en-GB",
  { day: "numeric", month: "short" });

export function formatClock(ms, seconds) {
  return (seconds ? clockSecFmt : clockFmt).format(new Date(ms));
}

function toMs(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === "number") return t;
  const v = Date.parse(t);
  return Number.isFinite(v) ? v : null;
}

function showWhen(show, liveNow) {
  const a = toMs(show.started_at);
  const b = toMs(show.ended_at);
  if (a === null) return "";
  if (b === null) {
    return liveNow ? "on air since " + formatClock(a) : dayFmt.format(a) +
           ", " + formatClock(a);
  }
  return dayFmt.format(a) + ", " + formatClock(a) + "–" + formatClock(b) +
         " (" + formatDuration((b - a) / 1000) + ")";
}

/* ---- small DOM helpers ---------------------------------------------- */

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

/* A figure's text, and "not available" read out for the dash. */
function valueNode(text) {
  if (text !== NA) return document.createTextNode(text);
  return h("span", {},
    h("span", { "aria-hidden": "true", text: NA }),
    h("span", { class: "vh", text: "not available" }));
}

const FORMAT = {
  count: (o, k) => formatCount(o[k]),
  percent: (o, k) => formatPercent(o[k]),
  money: (o, k) => formatMoneyOf(o, k),
  duration: (o, k) => formatDuration(o[k]),
};

/* ---- tiles and tables ----------------------------------------------- */

const KPIS = [
  ["viewers_now", "Viewers now", "count"],
  ["viewers_peak", "Viewers at peak", "count"],
  ["viewers_unique", "Unique viewers", "count"],
  ["watch_seconds", "Watch time", "duration"],
  ["impressions", "Impressions", "count"],
  ["clicks", "Clicks", "count"],
  ["ctr", "Click-through rate", "percent"],
  ["orders", "Orders", "count"],
  ["gmv", "GMV", "money"],
  ["aov", "Average order value", "money"],
  ["conversion", "Conversion", "percent"],
  ["gmv_per_1000_viewers", "GMV per 1,000 viewers", "money"],
  ["disclosure_coverage", "Disclosure coverage", "percent"],
];

const OFFER_COLS = [
  ["title", "Offer", "text"],
  ["pins", "Pins", "count"],
  ["seconds_pinned", "Time pinned", "duration"],
  ["impressions", "Impressions", "count"],
  ["clicks", "Clicks", "count"],
  ["ctr", "CTR", "percent", "click-through rate"],
  ["orders", "Orders", "count"],
  ["units", "Units", "count"],
  ["gmv", "GMV", "money", "gross merchandise value"],
  ["aov", "AOV", "money", "average order value"],
  ["conversion", "Conversion", "percent"],
  ["click_to_buy", "Click to buy", "percent"],
  ["gmv_per_1000_viewers", "GMV / 1,000 viewers", "money"],
];

const TREND_COLS = [
  ["title", "Show", "text"],
  ["started_at", "Started", "time"],
  ["viewers_unique", "Unique viewers", "count"],
  ["viewers_peak", "Peak viewers", "count"],
  ["orders", "Orders", "count"],
  ["gmv", "GMV", "money"],
  ["aov", "AOV", "money", "average order value"],
  ["conversion", "Conversion", "percent"],
];

/* A data table: the first column heads its rows; the columns of textCols
   hold words (left-aligned), the others figures. */
function table(captionText, cols, rows, id, textCols = []) {
  const t = h("table", id ? { id } : {});
  t.append(h("caption", { text: captionText }));
  const tr = h("tr");
  const left = (i) => i === 0 || textCols.includes(i);
  cols.forEach((c, i) => tr.append(h("th", { scope: "col",
    class: left(i) ? "t" : null, text: c })));
  t.append(h("thead", {}, tr));
  const body = h("tbody");
  for (const r of rows) {
    const row = h("tr");
    r.forEach((cell, i) => {
      const e = i === 0 ? h("th", { scope: "row" }) :
        h("td", { class: left(i) ? "t" : null });
      e.append(valueNode(String(cell)));
      if (cell === NA) e.classList.add("na");
      row.append(e);
    });
    body.append(row);
  }
  if (!rows.length) {
    body.append(h("tr", {}, h("td", { colspan: String(cols.length),
      class: "t", text: "No data yet." })));
  }
  t.append(body);
  return t;
}

/* ---- the series of one show, kept to draw and to append to ---------- */

/* A bucket for the data tables: at most about 60 rows. */
function bucketMs(spanMs) {
  const steps = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  for (const s of steps) if (spanMs / (s * 1000) <= 60) return s * 1000;
  return steps[steps.length - 1] * 1000;
}

function bucketName(ms) {
  return ms < 60000 ? ms / 1000 + " seconds" :
    ms < 3600000 ? (ms / 60000 === 1 ? "minute" : ms / 60000 + " minutes") :
      (ms / 3600000 === 1 ? "hour" : ms / 3600000 + " hours");
}

/* ---- the dashboard -------------------------------------------------- */

export function startDashboard(doc, options) {
  const $ = (id) => doc.getElementById(id);
  const st = {
    api: options.api || "/shop/",
    stream: options.stream || "live/demo",
    token: options.token || "",
    shows: [],            // the selector's shows, newest first
    liveId: null,         // the show on air (SSE state, …/shows)
    selected: null,
    follow: true,         // the selection follows the show on air
    report: null,         // …/report?show=
    trend: null,          // …/report?shows=
    viewersNow: null,
    offset: 0,            // server clock minus this one, ms
    lastFetch: 0,
    refreshTimer: null,
    pollTimer: null,
    tickTimer: null,
    source: null,
    sort: null,           // {key, dir: 1 | -1}
    view: null,           // series as drawn (report + live appends)
    charts: {},
    loads: 0,             // completed report loads, for tests
    renders: 0,
  };
  const base = st.api + "v1/streams/" + st.stream;
  const uPlot = window.uPlot;

  $("stream-name").textContent = st.stream;
  $("player-link").href = "index.html" + location.search;

  function status(text, bad) {
    $("status").textContent = text;
    $("status").className = bad ? "err" : "";
  }

  async function get(rest, auth) {
    const t0 = Date.now();
    const r = await fetch(base + rest, {
      headers: auth ? { Authorization: "Bearer " + st.token } : {},
      cache: "no-store",
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
    if (!r.ok) {
      const msg = json && json.error ? json.error.message : text.slice(0, 200);
      const err = new Error(r.status + ": " + msg);
      err.status = r.status;
      throw err;
    }
    if (json && json.at !== undefined) {
      const at = toMs(json.at);
      if (at !== null) st.offset = at - (t0 + Date.now()) / 2;
    }
    return json;
  }

  const now = () => Date.now() + st.offset;

  function explain(e) {
    if (e.status === 401) {
      return "The token was refused (401): paste the stream's control token.";
    }
    if (e.status === 403) {
      return "This token is for another stream than " + st.stream + " (403).";
    }
    return e.message;
  }

  /* -- the list of shows --------------------------------------------- */

  async function loadShows() {
    const [listing, trend] = await Promise.all([
      get("/shows", false),
      get("/report?shows=" + TREND_SHOWS, true),
    ]);
    st.trend = trend;
    // the shows of both lists, by id (the listing's are newer)
    const byId = new Map();
    const add = (s) => {
      if (s && s.id) byId.set(s.id, Object.assign({}, byId.get(s.id), s));
    };
    for (const s of trend.shows || []) add(s);
    for (const s of listing.last || []) add(s);
    add(listing.live);
    st.liveId = listing.live ? listing.live.id : null;
    st.shows = [...byId.values()].sort((a, b) =>
      (toMs(b.started_at) ?? Infinity) - (toMs(a.started_at) ?? Infinity));
    const sel = $("show");
    sel.replaceChildren();
    for (const s of st.shows) {
      const on = s.id === st.liveId && toMs(s.ended_at) === null;
      sel.append(h("option", { value: s.id,
        text: (on ? "On air: " : "") + (s.title || s.id) +
              (s.started_at ? " — " + dayFmt.format(toMs(s.started_at)) +
               ", " + formatClock(toMs(s.started_at)) : "") }));
    }
    if (st.follow || !byId.has(st.selected)) {
      st.selected = st.liveId && byId.has(st.liveId) ? st.liveId :
        (st.shows[0] ? st.shows[0].id : null);
    }
    if (st.selected) sel.value = st.selected;
    renderTrend();
  }

  /* -- one show ------------------------------------------------------ */

  async function loadShow() {
    if (!st.selected) return;
    const id = st.selected;
    st.lastFetch = Date.now();
    const rep = await get("/report?show=" + encodeURIComponent(id), true);
    if (id !== st.selected) return;
    const before = st.report && st.report.show && st.report.show.id === id
      ? st.report.show.orders : null;
    st.report = rep;
    st.view = viewOf(rep);
    st.loads++;
    render();
    const orders = rep.show ? rep.show.orders : null;
    if (before !== null && orders !== null && orders > before) {
      status(formatCount(orders) + " orders so far (" +
             formatCount(orders - before) + " new), GMV " +
             formatMoneyOf(rep.show, "gmv") + ".");
    }
  }

  function isLive() {
    return !!(st.report && st.report.show && st.report.show.id === st.liveId &&
              toMs(st.report.show.ended_at) === null);
  }

  function viewOf(rep) {
    const show = rep.show || {};
    const series = rep.series || {};
    const titles = new Map();
    for (const o of rep.offers || []) titles.set(o.offer_id, o.title);
    const x0 = toMs(show.started_at) ??
      (series.viewers && series.viewers[0] ? series.viewers[0][0] : now());
    return {
      id: show.id,
      x0,
      ended: toMs(show.ended_at),
      viewers: (series.viewers || []).map((p) => [p[0], p[1]]),
      orders: (series.orders || []).map((p) => [p[0], p[1], p[2], p[3]]),
      pins: (series.pins || []).map((p) => ({ offer_id: p.offer_id,
        start: toMs(p.start), end: toMs(p.end) })),
      titles,
      currency: show.currency ||
        ((rep.offers || []).find((o) => o.currency) || {}).currency || null,
    };
  }

  /* the end of the time axis: the show's end (its last tally may come a
     moment after it), or now while it is on air */
  function x1Of(v) {
    const last = Math.max(v.x0 + 1000, v.ended ?? 0,
      ...v.viewers.map((p) => p[0]), ...v.orders.map((p) => p[0]),
      ...v.pins.map((p) => Math.max(p.start, p.end ?? 0)));
    return v.ended === null && isLive() ? Math.max(last, now()) : last;
  }

  const offerTitle = (v, id) => v.titles.get(id) || id;

  /* -- render -------------------------------------------------------- */

  function render() {
    const rep = st.report;
    $("board").hidden = !rep;
    if (!rep) return;
    const show = rep.show || {};
    const live = isLive();
    $("show-title").textContent = show.title || show.id || "Show";
    $("show-when").textContent = showWhen(show, live);
    $("onair").className = "badge" + (live ? " live" : "");
    $("onair-text").textContent = live ? "On air" : "Ended";
    renderKpis(show, rep, live);
    renderOffers(rep);
    renderViewers();
    renderOrders();
    st.renders++;
    setTimers(live);
  }

  function renderKpis(show, rep, live) {
    const dl = $("kpis");
    const old = new Map([...dl.querySelectorAll(".kpi")].map((e) =>
      [e.dataset.kpi, e.querySelector(".v").textContent]));
    dl.replaceChildren();
    const vals = Object.assign({}, show, {
      viewers_now: live ? st.viewersNow : null,
      disclosure_coverage: show.disclosure_coverage !== undefined
        ? show.disclosure_coverage
        : (rep.disclosure ? rep.disclosure.coverage : null),
    });
    for (const [key, label, kind] of KPIS) {
      const text = FORMAT[kind](vals, key);
      let note = "";
      if (key === "viewers_now") note = live ? "live" : "off air";
      if (key === "orders" && show.units !== undefined) {
        note = formatCount(show.units) + " units";
      }
      if (key === "disclosure_coverage") note = "of sponsored pin time";
      const raw = key === "gmv" && vals.gmv === null &&
        vals.gmv_by_currency ? vals.gmv_by_currency : vals[key];
      const tile = h("div", { class: "kpi", "data-kpi": key },
        h("dt", { text: label }),
        h("dd", { class: "v", "data-raw": JSON.stringify(raw ?? null) },
          valueNode(text)),
        h("dd", { class: "n", text: note }));
      if (old.has(key) && old.get(key) !== tile.querySelector(".v")
        .textContent) {
        tile.classList.add("changed");
      }
      dl.append(tile);
    }
    const d = rep.disclosure;
    $("disclosure-line").textContent = d
      ? formatPercent(d.coverage) + " of " +
        formatDuration(d.sponsored_seconds) + " sponsored pin time (" +
        formatCount(d.sponsored_pins) + (d.sponsored_pins === 1 ?
        " sponsored pin" : " sponsored pins") + ") had its disclosure shown."
      : NA;
  }

  function setViewersNow(n) {
    st.viewersNow = n;
    const tile = $("kpis").querySelector('[data-kpi="viewers_now"] .v');
    if (tile && isLive()) {
      tile.replaceChildren(valueNode(formatCount(n)));
      tile.dataset.raw = JSON.stringify(n);
    }
  }

  /* per-offer table, sortable with the headings' buttons; a live update
     keeps the focus on the heading that had it */
  function renderOffers(rep) {
    const t = $("offers");
    const focused = t.contains(doc.activeElement) ?
      doc.activeElement.dataset.sort : null;
    const offers = (rep.offers || []).slice();
    const s = st.sort;
    if (s) {
      const col = OFFER_COLS.find((c) => c[0] === s.key);
      const val = (o) => {
        if (col[2] === "text") return (o.title || o.offer_id).toLowerCase();
        const v = o[s.key];
        return v === null || v === undefined ? null : Number(v);
      };
      offers.sort((a, b) => {
        const x = val(a);
        const y = val(b);
        if (x === null) return y === null ? 0 : 1;   // n/a last
        if (y === null) return -1;
        return (x < y ? -1 : x > y ? 1 : 0) * s.dir;
      });
    }
    const show = rep.show || {};
    $("offers-caption").textContent = "Per offer in " +
      (show.title || show.id || "the show") + ": " +
      formatCount(offers.length) + (offers.length === 1 ? " offer" :
        " offers") + (s ? ", sorted by " + OFFER_COLS.find(
        (c) => c[0] === s.key)[1] + (s.dir > 0 ? ", ascending" :
        ", descending") : ", in the order first pinned or sold") + ".";
    const tr = h("tr");
    for (const [key, label, kind, long] of OFFER_COLS) {
      const th = h("th", { scope: "col", class: kind === "text" ? "t" : null,
        "aria-sort": s && s.key === key ? (s.dir > 0 ? "ascending" :
          "descending") : null });
      const b = h("button", { type: "button", "data-sort": key });
      b.append(long ? h("abbr", { title: long, text: label }) : label,
        h("span", { class: "arrow", "aria-hidden": "true",
          text: s && s.key === key ? (s.dir > 0 ? " ▲" : " ▼") : "" }));
      b.addEventListener("click", () => {
        const first = kind === "text" ? 1 : -1;
        st.sort = s && s.key === key ? { key, dir: -s.dir } :
          { key, dir: first };
        renderOffers(st.report);
      });
      th.append(b);
      tr.append(th);
    }
    t.tHead.replaceChildren(tr);
    if (focused) t.querySelector('button[data-sort="' + focused + '"]').focus();
    const body = t.tBodies[0];
    body.replaceChildren();
    for (const o of offers) {
      const row = h("tr", { "data-offer": o.offer_id });
      for (const [key, , kind] of OFFER_COLS) {
        if (kind === "text") {
          const th = h("th", { scope: "row" }, o.title || o.offer_id);
          if (o.title) {
            th.append(h("br"), h("small", { class: "hint",
              text: o.offer_id }));
          }
          row.append(th);
          continue;
        }
        const text = FORMAT[kind](o, key);
        const raw = key === "gmv" && o.gmv === null && o.gmv_by_currency
          ? o.gmv_by_currency : o[key];
        const td = h("td", { "data-key": key,
          "data-raw": JSON.stringify(raw ?? null),
          class: text === NA ? "na" : null }, valueNode(text));
        row.append(td);
      }
      body.append(row);
    }
    if (!offers.length) {
      body.append(h("tr", {}, h("td", { colspan: String(OFFER_COLS.length),
        class: "t", text: "No offer was pinned or sold in this show." })));
    }
  }

  /* -- charts -------------------------------------------------------- */

  function axis(extra) {
    return Object.assign({
      stroke: C.axis,
      font: "12px " + C.font,
      labelFont: "600 12px " + C.font,
      grid: { stroke: C.grid, width: 1 },
      ticks: { stroke: C.grid, width: 1 },
    }, extra);
  }

  // whole seconds at least: a show of a few seconds has no tick twice
  const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200, 86400];

  function timeAxis() {
    return axis({
      incrs: TIME_INCRS,
      space: 64,
      values: (u, splits, ax, space, incr) =>
        splits.map((v) => formatClock(v * 1000, incr < 60)),
    });
  }

  function size(el, height) {
    return { width: Math.max(240, Math.floor(el.clientWidth || 600)),
             height };
  }

  function chart(name, el, opts, data) {
    let u = st.charts[name];
    if (u && u.__shape !== opts.__shape) {
      u.destroy();
      u = null;
    }
    if (!u) {
      el.replaceChildren();
      u = new uPlot(Object.assign(size(el, opts.height), opts), data, el);
      u.__shape = opts.__shape;
      st.charts[name] = u;
      if (window.ResizeObserver) {
        new ResizeObserver(() => {
          const s = size(el, opts.height);
          if (s.width !== u.width) u.setSize(s);
        }).observe(el);
      }
    } else {
      u.setData(data);
    }
    return u;
  }

  function readout(id, u, text) {
    const i = u.cursor.idx;
    $(id).textContent = i === null || i === undefined ? "" : text(i);
  }

  function pinsAt(v, ms) {
    return v.pins.filter((p) => p.start <= ms &&
      (p.end === null ? ms <= x1Of(v) : ms < p.end));
  }

  /* pin intervals as bands under the viewers, labelled by offer */
  function drawBands(u) {
    const v = st.view;
    if (!v || !v.pins.length) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const x1 = x1Of(v);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    v.pins.forEach((p, i) => {
      const a = Math.max(left, u.valToPos(p.start / 1000, "x", true));
      const b = Math.min(left + width,
        u.valToPos((p.end ?? x1) / 1000, "x", true));
      if (b < left || a > left + width) return;
      ctx.fillStyle = C.bands[i % 2];
      ctx.fillRect(a, top, Math.max(b - a, 1), height);
      ctx.fillStyle = C.bandEdge;
      ctx.fillRect(a, top, 2 * devicePixelRatio, height);
    });
    ctx.restore();
  }

  function drawBandLabels(u) {
    const v = st.view;
    if (!v || !v.pins.length) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const px = devicePixelRatio;
    const x1 = x1Of(v);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.font = "600 " + Math.round(12 * px) + "px " + C.font;
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    v.pins.forEach((p, i) => {
      const a = Math.max(left, u.valToPos(p.start / 1000, "x", true));
      const b = Math.min(left + width,
        u.valToPos((p.end ?? x1) / 1000, "x", true));
      const room = b - a - 8 * px;
      if (room < 24 * px) return;   // too narrow: the table names it
      let label = offerTitle(v, p.offer_id);
      while (label.length > 1 && ctx.measureText(label).width > room) {
        label = label.slice(0, -2) + "…";
      }
      if (ctx.measureText(label).width > room) return;
      const y = top + (6 + (i % 2) * 20) * px;
      const w = ctx.measureText(label).width + 8 * px;
      ctx.fillStyle = C.labelBg;
      ctx.fillRect(a + 4 * px, y, w, 17 * px);
      ctx.fillStyle = C.labelFg;
      ctx.fillText(label, a + 8 * px, y + 8.5 * px);
    });
    ctx.restore();
  }

  function renderViewers() {
    const v = st.view;
    const x0 = v.x0;
    const x1 = x1Of(v);
    const xs = [x0 / 1000];
    const ys = [null];
    for (const [t, n] of v.viewers) {
      if (t < x0 || t > x1) continue;
      xs.push(t / 1000);
      ys.push(n);
    }
    // on air, the line runs on to now at the count the server tells now
    xs.push(x1 / 1000);
    ys.push(isLive() && typeof st.viewersNow === "number" ? st.viewersNow
      : null);
    const el = $("chart-viewers");
    const u = chart("viewers", el, {
      __shape: "viewers",
      height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false },
                sync: { key: "show-" + st.stream }, points: { size: 7 } },
      scales: { x: { time: true },
                y: { range: (u, a, b) => [0, Math.max(4, (b || 0) * 1.15)] } },
      series: [{}, {
        label: "Viewers",
        stroke: C.viewers,
        fill: C.viewersFill,
        width: 2,
        spanGaps: false,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { size: 6, fill: C.viewers },   // shown while sparse
      }],
      axes: [timeAxis(), axis({ label: "Viewers", size: 56,
        values: (u, s) => s.map((x) => Number.isInteger(x) ? formatCount(x)
          : "") })],
      hooks: {
        drawClear: [drawBands],
        draw: [drawBandLabels],
        setCursor: [(u) => readout("readout-viewers", u, (i) => {
          const t = u.data[0][i] * 1000;
          const pinned = pinsAt(st.view, t).map((p) =>
            offerTitle(st.view, p.offer_id));
          return formatClock(t, true) + " · " +
            (u.data[1][i] === null ? "no count" : formatCount(u.data[1][i]) +
             " viewers") + (pinned.length ? " · pinned: " +
             pinned.join(", ") : "");
        })],
      },
    }, [xs, ys]);
    u.redraw(false, false);

    // its text: a summary and the data as tables
    const pts = v.viewers.filter(([t]) => t >= x0 && t <= x1);
    let text = "No viewer count yet.";
    if (pts.length) {
      const peak = pts.reduce((m, p) => (p[1] > m[1] ? p : m), pts[0]);
      text = "Viewers from " + formatClock(x0) + " to " + formatClock(x1) +
        ": " + formatCount(pts[0][1]) + " at first, at most " +
        formatCount(peak[1]) + " at " + formatClock(peak[0]) + ", " +
        formatCount(pts[pts.length - 1][1]) +
        (isLive() ? " now." : " at the end.");
    }
    if (v.pins.length) {
      const shown = v.pins.slice(0, 6).map((p) => offerTitle(v, p.offer_id) +
        " " + formatClock(p.start) + "–" +
        (p.end === null ? "now" : formatClock(p.end)));
      text += " " + formatCount(v.pins.length) +
        (v.pins.length === 1 ? " pin: " : " pins: ") + shown.join("; ") +
        (v.pins.length > 6 ? "; and " + (v.pins.length - 6) + " more" : "") +
        ".";
    } else {
      text += " No offer was pinned.";
    }
    $("sum-viewers").textContent = text;

    const step = bucketMs(x1 - x0);
    const rows = [];
    for (let t = x0 - (x0 % step); t < x1; t += step) {
      const inb = pts.filter((p) => p[0] >= t && p[0] < t + step);
      const pinned = v.pins.filter((p) => p.start < t + step &&
        (p.end ?? x1) > t).map((p) => offerTitle(v, p.offer_id));
      rows.push([formatClock(Math.max(t, x0), step < 60000),
        inb.length ? formatCount(Math.max(...inb.map((p) => p[1]))) : NA,
        pinned.length ? pinned.join(", ") : NA]);
    }
    const box = $("data-viewers");
    box.replaceChildren(
      table("Viewers, the most in each " + bucketName(step) +
            ", and the offers pinned then", ["From", "Viewers", "Pinned"],
            rows, null, [2]),
      table("Pins in " + ($("show-title").textContent), ["Offer", "From",
        "To", "Time pinned"], v.pins.map((p) => [offerTitle(v, p.offer_id),
        formatClock(p.start, true),
        p.end === null ? "still pinned" : formatClock(p.end, true),
        formatDuration(((p.end ?? x1) - p.start) / 1000)])));
  }

  function renderOrders() {
    const v = st.view;
    const x0 = v.x0;
    const x1 = x1Of(v);
    const xs = [x0 / 1000];
    const os = [0];
    const gs = [0];
    let last = [x0, 0, 0, 0];
    for (const p of v.orders) {
      if (p[0] < x0 || p[0] > x1) continue;
      xs.push(p[0] / 1000);
      os.push(p[1]);
      gs.push(p[3]);
      last = p;
    }
    xs.push(x1 / 1000);
    os.push(last[1]);
    gs.push(last[3]);
    const cur = v.currency;
    const money = (n) => formatMoney(n, cur);
    const el = $("chart-orders");
    const u = chart("orders", el, {
      __shape: "orders",
      height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false },
                sync: { key: "show-" + st.stream }, points: { size: 7 } },
      scales: {
        x: { time: true },
        orders: { range: (u, a, b) => [0, Math.max(4, (b || 0) * 1.15)] },
        // more headroom: the GMV line runs below the orders'
        gmv: { range: (u, a, b) => [0, Math.max(10, (b || 0) * 1.6)] },
      },
      series: [{}, {
        label: "Orders so far", scale: "orders", stroke: C.orders, width: 2,
        paths: uPlot.paths.stepped({ align: 1 }), points: { show: false },
      }, {
        label: "GMV so far", scale: "gmv", stroke: C.gmv, width: 2,
        fill: C.gmvFill,
        dash: [7, 5], paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
      }],
      axes: [timeAxis(),
        axis({ scale: "orders", label: "Orders", size: 56,
          values: (u, s) => s.map((x) => Number.isInteger(x) ?
            formatCount(x) : "") }),
        axis({ scale: "gmv", side: 1, label: "GMV" + (cur ? " (" + cur + ")"
          : ""), size: 72, grid: { show: false },
          values: (u, s) => s.map((x) => intFmt.format(x)) })],
      hooks: {
        setCursor: [(u) => readout("readout-orders", u, (i) =>
          formatClock(u.data[0][i] * 1000, true) + " · " +
          formatCount(u.data[1][i]) + " orders · GMV " + money(u.data[2][i]))],
      },
    }, [xs, os, gs]);
    u.redraw(false, false);

    const show = (st.report && st.report.show) || {};
    const pts = v.orders.filter(([t]) => t >= x0 && t <= x1);
    let text;
    if (!pts.length) {
      text = "No order yet in this show.";
    } else {
      const step = bucketMs(x1 - x0);
      const per = new Map();
      let prev = 0;
      for (const p of pts) {
        const b = p[0] - (p[0] % step);
        per.set(b, (per.get(b) || 0) + (p[1] - prev));
        prev = p[1];
      }
      const [bt, bn] = [...per.entries()].reduce((m, e) =>
        (e[1] > m[1] ? e : m));
      text = formatCount(show.orders) + " orders (" +
        formatCount(show.units) + " units), GMV " +
        formatMoneyOf(show, "gmv") + (isLive() ? " so far" : "") +
        "; the first at " + formatClock(pts[0][0]) + ", the most (" +
        formatCount(bn) + ") in the " + bucketName(step) + " from " +
        formatClock(bt, step < 60000) + ".";
    }
    $("sum-orders").textContent = text;

    const step = bucketMs(x1 - x0);
    const rows = [];
    let prevO = 0;
    let prevU = 0;
    for (let t = x0 - (x0 % step); t < x1; t += step) {
      const inb = pts.filter((p) => p[0] >= t && p[0] < t + step);
      if (!inb.length) continue;
      const e = inb[inb.length - 1];
      rows.push([formatClock(Math.max(t, x0), step < 60000),
        formatCount(e[1] - prevO), formatCount(e[2] - prevU),
        formatCount(e[1]), money(e[3])]);
      prevO = e[1];
      prevU = e[2];
    }
    $("data-orders").replaceChildren(table("Orders in each " +
      bucketName(step) + " that had any, and the totals after it" +
      (isLive() ? " (until the report is fetched again, GMV counts what " +
       "the report said)" : ""),
    ["From", "Orders", "Units", "Orders so far", "GMV so far"], rows));
  }

  /* the series trend: one small chart per figure, and its table */
  function renderTrend() {
    const shows = (st.trend && st.trend.shows) || [];
    const xs = shows.map((_, i) => i);
    const sameDay = shows.every((s) => shortDayFmt.format(toMs(s.started_at)
      ?? 0) === shortDayFmt.format(toMs(shows[0].started_at) ?? 0));
    const labels = shows.map((s, i) => {
      const t = toMs(s.started_at);
      return t === null ? "#" + (i + 1) : sameDay ? formatClock(t) :
        shortDayFmt.format(t);
    });
    // shows of the same minute or day: their number in the list instead
    const label = (i) => (labels.indexOf(labels[i]) !== labels.lastIndexOf(
      labels[i]) ? "#" + (i + 1) : labels[i]);
    const num = (v) => (v === null || v === undefined ? null : Number(v));
    const figs = [
      ["gmv", shows.map((s) => num(s.gmv)), C.gmv, "bars",
        (x) => intFmt.format(x)],
      ["viewers", shows.map((s) => num(s.viewers_unique)), C.viewers, "line",
        (x) => (Number.isInteger(x) ? formatCount(x) : "")],
      ["conversion", shows.map((s) => (s.conversion === null ||
        s.conversion === undefined ? null : s.conversion * 100)), C.orders,
      "line", (x) => x.toFixed(x < 10 ? 1 : 0) + "%"],
    ];
    for (const [name, ys, colour, kind, fmt] of figs) {
      const el = $("chart-trend-" + name);
      if (!shows.length) {
        if (st.charts["trend-" + name]) {
          st.charts["trend-" + name].destroy();
          delete st.charts["trend-" + name];
        }
        el.replaceChildren(h("p", { class: "empty", text: "No show yet." }));
        continue;
      }
      const u = chart("trend-" + name, el, {
        __shape: "trend-" + name + "-" + shows.length,
        height: 170,
        legend: { show: false },
        cursor: { drag: { x: false, y: false, setScale: false },
                  points: { size: 8 } },
        scales: {
          x: { time: false, range: () => [-0.5, shows.length - 0.5] },
          y: { range: (u, a, b) => [0, Math.max(name === "conversion" ? 1 :
            4, (b || 0) * 1.15)] },
        },
        series: [{}, kind === "bars" ? {
          label: name, stroke: colour, fill: colour + "cc", width: 1,
          paths: uPlot.paths.bars({ size: [0.6, 48] }), points: { show: false },
        } : {
          label: name, stroke: colour, width: 2,
          points: { show: true, size: 7, fill: colour },
        }],
        axes: [axis({ splits: () => xs, grid: { show: false },
          // a label every so many shows where they would not fit
          values: (u, s) => {
            const each = u.bbox.width / devicePixelRatio / shows.length;
            const every = Math.max(1, Math.ceil(52 / each));
            return s.map((i) => (Number.isInteger(i) &&
              (shows.length - 1 - i) % every === 0 ? label(i) : ""));
          } }),
        axis({ size: 52, values: (u, s) => s.map(fmt) })],
      }, [xs, ys]);
      u.redraw(false, false);
    }

    const described = (key, fmt) => {
      const with_ = shows.filter((s) => s[key] !== null &&
        s[key] !== undefined);
      if (!with_.length) return "not known for any of them";
      const lo = with_.reduce((m, s) => (Number(s[key]) < Number(m[key]) ?
        s : m));
      const hi = with_.reduce((m, s) => (Number(s[key]) > Number(m[key]) ?
        s : m));
      const last = shows[shows.length - 1];
      const name = (s) => (s.title || s.id) + ", " +
        (toMs(s.started_at) === null ? "" : dayFmt.format(toMs(s.started_at)));
      return "from " + fmt(lo) + " (" + name(lo) + ") to " + fmt(hi) + " (" +
        name(hi) + "); the latest, " + name(last) + ": " + fmt(last);
    };
    const n = shows.length;
    const head = n === 1 ? "In the last show" : "Over the last " + n + " shows";
    $("sum-trend-gmv").textContent = n ? head + ", GMV went " +
      described("gmv", (s) => formatMoneyOf(s, "gmv")) + "." : "";
    $("sum-trend-viewers").textContent = n ? head + ", unique viewers went " +
      described("viewers_unique", (s) => formatCount(s.viewers_unique)) +
      "." : "";
    $("sum-trend-conversion").textContent = n ? head + ", conversion went " +
      described("conversion", (s) => formatPercent(s.conversion)) + "." : "";

    const rows = shows.map((s) => TREND_COLS.map(([key, , kind]) =>
      kind === "text" ? (s.title || s.id) :
        kind === "time" ? (toMs(s[key]) === null ? NA :
          dayFmt.format(toMs(s[key])) + ", " + formatClock(toMs(s[key]))) :
          FORMAT[kind](s, key)));
    $("data-trend").replaceChildren(table("The last " + formatCount(n) +
      (n === 1 ? " show" : " shows") + " of " + st.stream +
      ", oldest first", TREND_COLS.map((c) => c[1]), rows, "trend-table"));
  }

  /* -- live: Server-Sent Events -------------------------------------- */

  function setTimers(live) {
    if (live && !st.tickTimer) {
      st.tickTimer = setInterval(() => {
        if (!isLive()) return;
        renderViewers();
        renderOrders();
      }, TICK_MS);
      st.pollTimer = setInterval(() => {
        if (isLive()) scheduleRefresh();
      }, LIVE_POLL_MS);
    } else if (!live && st.tickTimer) {
      clearInterval(st.tickTimer);
      clearInterval(st.pollTimer);
      st.tickTimer = st.pollTimer = null;
    }
  }

  /* the report again for the exact figures: at once, or 10 s after the
     last time */
  function scheduleRefresh() {
    if (st.refreshTimer) return;
    const wait = Math.max(0, st.lastFetch + REFRESH_MS - Date.now());
    st.refreshTimer = setTimeout(() => {
      st.refreshTimer = null;
      loadShow().catch((e) => status("report: " + explain(e), true));
    }, wait);
  }

  function onEvent(type, fn) {
    st.source.addEventListener(type, (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch (x) { return; }
      fn(msg);
    });
  }

  function liveView() {
    return isLive() && st.view && st.view.id === st.liveId ? st.view : null;
  }

  function connect() {
    if (st.source || typeof EventSource === "undefined") return;
    // the host's tool, no audience (docs/api.md, "viewers")
    st.source = new EventSource(base + "/events?viewer=no");
    onEvent("state", (s) => {
      const id = s.show ? (s.show.id || (s.show.show && s.show.show.id))
        : null;
      if (typeof s.viewers === "number") st.viewersNow = s.viewers;
      if (id !== st.liveId) {
        st.liveId = id;
        refreshAll();
      } else if (s.viewers !== undefined) {
        setViewersNow(s.viewers);
      }
    });
    onEvent("audience", (a) => {
      setViewersNow(a.viewers);
      const v = liveView();
      if (!v) return;
      v.viewers.push([now(), a.viewers]);
      renderViewers();
    });
    onEvent("offer.pinned", (ev) => {
      const v = liveView();
      if (!v) return;
      const t = toMs(ev.at) ?? now();
      for (const p of v.pins) if (p.end === null) p.end = t;
      const o = ev.data && ev.data.offer;
      if (o && o.id) {
        if (!v.titles.has(o.id)) v.titles.set(o.id, o.title);
        v.pins.push({ offer_id: o.id, start: t, end: null });
      }
      renderViewers();
    });
    onEvent("offer.unpinned", (ev) => {
      const v = liveView();
      if (!v) return;
      const t = toMs(ev.at) ?? now();
      for (const p of v.pins) if (p.end === null) p.end = t;
      renderViewers();
    });
    onEvent("purchase.completed", (ev) => {
      const v = liveView();
      if (!v) return;
      const last = v.orders.length ? v.orders[v.orders.length - 1]
        : [v.x0, 0, 0, 0];
      const q = (ev.data && ev.data.quantity) || 1;
      // the amount is not in the event: GMV moves with the next report
      v.orders.push([toMs(ev.at) ?? now(), last[1] + 1, last[2] + q,
        last[3]]);
      renderOrders();
      scheduleRefresh();
    });
    onEvent("show.started", (ev) => {
      const s = ev.data && ev.data.show;
      if (s && s.id) st.liveId = s.id;
      status("A show started: " + ((s && s.title) || (s && s.id) || "") + ".");
      refreshAll();
    });
    onEvent("show.ended", (ev) => {
      status("The show ended" + (ev.data && ev.data.show_id ? " (" +
        ev.data.show_id + ")" : "") + ".");
      if (ev.data && ev.data.show_id === st.liveId) st.liveId = null;
      refreshAll();
      // the show's last audience figures reach the journal a moment
      // after its end (the next sweep, within a second)
      setTimeout(refreshAll, FINAL_TALLY_MS);
    });
  }

  /* -- wiring -------------------------------------------------------- */

  let loading = null;
  async function refreshAll() {
    if (!st.token) return;
    if (loading) return loading;
    loading = (async () => {
      try {
        await loadShows();
        $("picker").hidden = false;
        if (!st.selected) {
          st.report = null;
          render();
          status("No show yet on " + st.stream +
                 ": publishing the stream starts one.");
          return;
        }
        await loadShow();
        connect();
      } catch (e) {
        status(explain(e), true);
        if (e.status === 401 || e.status === 403) {
          $("picker").hidden = true;
          $("board").hidden = true;
          $("token").focus();
        }
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  $("token").value = st.token;
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    st.token = $("token").value.trim();
    sessionStorage.setItem("liveshop-token", st.token);
    status("Loading…");
    refreshAll().then(() => {
      if (st.report) status("Loaded " + ($("show-title").textContent) + ".");
    });
  });
  $("show").addEventListener("change", () => {
    st.selected = $("show").value;
    st.follow = st.selected === st.liveId;
    st.sort = null;
    loadShow().catch((e) => status("report: " + explain(e), true));
  });
  $("refresh").addEventListener("click", () => {
    status("Loading…");
    refreshAll().then(() => {
      if (st.report) status("Updated at " + formatClock(Date.now(), true) +
                            ".");
    });
  });
  $("csv").addEventListener("click", async () => {
    // a plain link cannot carry the Authorization header: fetch, then
    // offer the file as a Blob
    try {
      // the selected show's offers (report.csv?show=ID)
      const id = st.selected;
      const r = await fetch(base + "/report.csv" + (id ? "?show=" +
        encodeURIComponent(id) : ""), {
        headers: { Authorization: "Bearer " + st.token }, cache: "no-store" });
      if (!r.ok) throw Object.assign(new Error(r.status + ": " +
        (await r.text()).slice(0, 200)), { status: r.status });
      const blob = await r.blob();
      const a = $("csv-link");
      if (a.href) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(blob);
      a.download = "liveshop-" + st.stream.replace("/", "-") +
        (id ? "-" + id : "") + ".csv";
      a.click();
      status("The report is downloading as " + a.download + ".");
    } catch (e) {
      status("CSV: " + explain(e), true);
    }
  });
  for (const b of doc.querySelectorAll("button.toggle")) {
    b.addEventListener("click", () => {
      const open = b.getAttribute("aria-expanded") !== "true";
      b.setAttribute("aria-expanded", String(open));
      $(b.getAttribute("aria-controls")).hidden = !open;
      b.textContent = open ? "Hide the table" : "Show the data as a table";
    });
  }

  if (st.token) {
    status("Loading…");
    refreshAll().then(() => {
      if (st.report) status("Loaded " + ($("show-title").textContent) + ".");
    });
  } else {
    status("Paste the stream's control token to see its report.");
    $("token").focus();
  }

  return {
    state: st,
    refresh: refreshAll,
    charts: st.charts,
    colours: C,
    uPlot,
  };
}
