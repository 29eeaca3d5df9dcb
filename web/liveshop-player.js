/*
 * liveshop player overlay: the shoppable card over a live HLS <video>.
 *
 *   import { attachLiveShop } from "./liveshop-player.js";
 *   const shop = attachLiveShop(video, { hls, api: "/shop/", stream: "live/demo" });
 *   ...
 *   shop.destroy();
 *
 * What is shown follows the viewer's playback position, not the wall clock:
 * the offers, countdowns and disclosures come from the playlist's
 * EXT-X-DATERANGE tags (SPEC §7), whose START-DATE / END-DATE are server
 * times, and the playback position is turned into a server time with the
 * segments' EXT-X-PROGRAM-DATE-TIME. A card therefore appears when the
 * frame the host pinned it on is on screen, however far behind the live
 * edge this viewer is. Stock and purchases are live facts and come from
 * the stream's Server-Sent Events (SPEC §8).
 *
 * Everything from the server is shown as text (titles may hold anything,
 * SPEC §2); links and images must be http(s) URLs.
 *
 * No dependencies; hls.js 1.2 or later, or Safari's native HLS.
 */

const CLASS_OFFER = "org.liveshop.offer";
const CLASS_COUNTDOWN = "org.liveshop.countdown";
const CLASS_DISCLOSURE = "org.liveshop.disclosure";

/* Events that change stock or make the ticker move (SPEC §3). */
const SSE_TYPES = [
  "state", "offer.pinned", "offer.unpinned", "countdown.started",
  "countdown.ended", "disclosure.shown", "disclosure.hidden",
  "stock.changed", "offer.sold_out", "purchase.completed",
];

const DEFAULT_LABELS = {
  buy: "Buy now",
  left: "Only {n} left",
  soldOut: "Sold out",
  endsIn: "Ends in",
  sold: "{n} × {title} just sold",
  close: "Hide offer",
  product: "Product on air",
  disclosure: {
    ad: "Ad", sponsored: "Sponsored", affiliate: "Affiliate link",
    gifted: "Gifted", own: "Own product",
  },
};

/* Keeps at most this many ranges that have ended (old ones go first). */
const MAX_ENDED_RANGES = 64;

let stylesheetAdded = false;

/** The URL with ls_stream=STREAM added, or null when it is not http(s). */
export function buyUrl(url, stream) {
  let u;
  try {
    u = new URL(url);
  } catch (e) {
    return null;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return null;
  /* the shop's own parameters stay byte for byte (no re-encoding) */
  const params = u.search.slice(1).split("&")
    .filter((p) => p !== "" && !/^ls_stream(=|$)/.test(p));
  params.push("ls_stream=" + encodeURIComponent(stream));
  u.search = "?" + params.join("&");
  return u.toString();
}

/** An http(s) URL as given, or null. */
function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:" ? u.toString()
                                                              : null;
  } catch (e) {
    return null;
  }
}

/** mm:ss (h:mm:ss from an hour on) of a number of milliseconds. */
export function formatCountdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const two = (n) => String(n).padStart(2, "0");
  if (s >= 3600) {
    return Math.floor(s / 3600) + ":" + two(Math.floor(s / 60) % 60) + ":" +
           two(s % 60);
  }
  return two(Math.floor(s / 60)) + ":" + two(s % 60);
}

/** The event JSON in X-LIVESHOP-DATA (base64 of UTF-8), or null. */
export function decodeEventData(b64) {
  if (typeof b64 !== "string" || b64 === "") return null;
  try {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return null;
  }
}

/*
 * RFC 8216bis 4.2 attribute list -> {NAME: value}, quotes taken off.
 * Only for the native (Safari) route; hls.js parses its own.
 */
function parseAttributes(s) {
  const out = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
  }
  return out;
}

/**
 * The DATERANGE tags and the segments' program date times of a media
 * playlist: {ranges: [{ID, CLASS, ...attributes}], segments:
 * [{pdt: ms, duration: s}]}.
 */
export function parsePlaylist(text) {
  const ranges = [];
  const segments = [];
  let pdt = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-DATERANGE:")) {
      ranges.push(parseAttributes(line.slice(17)));
    } else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      pdt = Date.parse(line.slice(25));
    } else if (line.startsWith("#EXTINF:")) {
      segments.push({ pdt: Number.isFinite(pdt) ? pdt : null,
                      duration: parseFloat(line.slice(8)) });
      pdt = null;
    }
  }
  return { ranges, segments };
}

function el(tag, cls, attrs) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, k) =>
    (k in values ? String(values[k]) : m));
}

/**
 * Attaches the overlay to video.
 *
 * options:
 *   hls        the Hls instance that plays video (omit for native HLS)
 *   api        base URL of the live_shop_api location ("/shop/")
 *   stream     "APP/NAME"
 *   container  element the overlay goes into (default: video's parent);
 *              it is made position: relative
 *   playlist   native HLS only: the media playlist URL to read the
 *              DATERANGE tags from (default: video.currentSrc)
 *   locale     for prices (default: the browser's)
 *   labels     texts to replace (see DEFAULT_LABELS)
 *   stylesheet false: do not add liveshop-player.css (bring your own)
 *   sse        false: no Server-Sent Events (no live stock, no ticker)
 *
 * Returns {destroy(), now(), state()}; the container gets DOM events
 * "liveshop:offer", "liveshop:countdown", "liveshop:disclosure",
 * "liveshop:stock", "liveshop:purchase" and "liveshop:connection".
 */
export function attachLiveShop(video, options = {}) {
  const opt = Object.assign({ api: "/shop/", sse: true, stylesheet: true },
                            options);
  if (!video || !opt.stream) {
    throw new TypeError("attachLiveShop(video, {stream: \"APP/NAME\", ...})");
  }
  const labels = Object.assign({}, DEFAULT_LABELS, opt.labels || {});
  labels.disclosure = Object.assign({}, DEFAULT_LABELS.disclosure,
                                    (opt.labels || {}).disclosure || {});
  const hls = opt.hls || null;
  const container = opt.container || video.parentElement;
  const apiBase = new URL(opt.api.endsWith("/") ? opt.api : opt.api + "/",
                          document.baseURI);
  const eventsUrl = new URL("v1/streams/" + opt.stream.split("/")
    .map(encodeURIComponent).join("/") + "/events", apiBase);

  if (opt.stylesheet && !stylesheetAdded) {
    const link = el("link", null, {
      rel: "stylesheet",
      href: new URL("./liveshop-player.css", import.meta.url).toString(),
    });
    document.head.appendChild(link);
    stylesheetAdded = true;
  }

  /* ------------------------------------------------------------ the DOM */

  container.classList.add("ls-stage");
  const root = el("div", "ls-overlay");
  const disclosure = el("div", "ls-disclosure", { role: "note" });
  const countdown = el("div", "ls-countdown", { role: "timer" });
  const countdownLabel = el("span", "ls-countdown-label");
  const countdownTime = el("span", "ls-countdown-time");
  countdown.append(countdownLabel, countdownTime);
  const live = el("div", "ls-live", { "aria-live": "polite" });
  const card = el("section", "ls-card", { "aria-label": labels.product });
  const image = el("img", "ls-image", { alt: "", loading: "lazy" });
  const body = el("div", "ls-body");
  const title = el("h3", "ls-title");
  const price = el("p", "ls-price");
  const now = el("span", "ls-now");
  const anchor = el("s", "ls-anchor");
  price.append(now, anchor);
  const stock = el("p", "ls-stock");
  const buy = el("a", "ls-buy", { target: "_blank", rel: "noopener" });
  buy.textContent = labels.buy;
  const close = el("button", "ls-close",
                   { type: "button", "aria-label": labels.close });
  close.textContent = "×";
  body.append(title, price, stock, buy);
  card.append(close, image, body);
  live.append(card);
  const ticker = el("div", "ls-ticker", { "aria-live": "polite" });
  root.append(disclosure, countdown, live, ticker);
  container.appendChild(root);
  for (const e of [disclosure, countdown, card, image, anchor, stock, ticker]) {
    e.hidden = true;
  }

  /* ----------------------------------------------------------- the model */

  const ranges = new Map();          // ID -> {cls, start, end, event}
  const stockOf = new Map();         // offer id -> n (absent: unlimited)
  const titles = new Map();          // offer id -> title, for the ticker
  let details = null;                // hls.js: the latest LevelDetails
  let nativeSegments = [];           // native: [{pdt, duration}]
  let shown = { offer: null, countdown: null, disclosure: null };
  let dismissed = null;              // range ID the viewer closed
  let lastSeq = null;
  let source = null;
  let retry = 1000;
  let pollTimer = null;
  let reconnectTimer = null;
  let destroyed = false;

  function emit(name, detail) {
    container.dispatchEvent(new CustomEvent("liveshop:" + name, { detail }));
  }

  function keepRange(id, cls, start, end, b64) {
    if (!id || !cls || !cls.startsWith("org.liveshop.") ||
        !Number.isFinite(start)) {
      return;
    }
    const old = ranges.get(id);
    const event = old ? old.event : decodeEventData(b64);
    if (!event) return;
    ranges.set(id, { cls, start, end: Number.isFinite(end) ? end : null,
                     event });
    if (event.type === "offer.pinned" && event.data && event.data.offer) {
      titles.set(event.data.offer.id, event.data.offer.title);
    }
  }

  function pruneRanges() {
    const ended = [...ranges.entries()].filter(([, r]) => r.end !== null)
      .sort((a, b) => a[1].end - b[1].end);
    for (let i = 0; i < ended.length - MAX_ENDED_RANGES; i++) {
      ranges.delete(ended[i][0]);
    }
  }

  /* hls.js: LevelDetails.dateRanges (hls.js 1.2 on) */
  function fromHlsDetails(d) {
    if (!d) return;
    details = d;
    for (const dr of Object.values(d.dateRanges || {})) {
      const a = dr.attr || {};
      let end = a["END-DATE"] ? Date.parse(a["END-DATE"]) : NaN;
      if (!Number.isFinite(end) && a.DURATION !== undefined) {
        end = dr.startDate.getTime() + parseFloat(a.DURATION) * 1000;
      }
      keepRange(dr.id, dr.class, dr.startDate.getTime(), end,
                a["X-LIVESHOP-DATA"]);
    }
    pruneRanges();
    render();
  }

  function onLevel(_name, data) {
    fromHlsDetails(data && data.details);
  }

  /* Native HLS (Safari): the playlist is read here as well. */
  async function pollPlaylist() {
    if (destroyed) return;
    let wait = 2000;
    const url = opt.playlist || video.currentSrc || video.src;
    if (url) {
      try {
        const r = await fetch(url, { cache: "no-store" });
        if (r.ok) {
          const pl = parsePlaylist(await r.text());
          nativeSegments = pl.segments;
          for (const a of pl.ranges) {
            let end = a["END-DATE"] ? Date.parse(a["END-DATE"]) : NaN;
            const start = Date.parse(a["START-DATE"]);
            if (!Number.isFinite(end) && a.DURATION !== undefined) {
              end = start + parseFloat(a.DURATION) * 1000;
            }
            keepRange(a.ID, a.CLASS, start, end, a["X-LIVESHOP-DATA"]);
          }
          pruneRanges();
          if (pl.segments.length) {
            wait = Math.max(1000, pl.segments[pl.segments.length - 1]
              .duration * 1000);
          }
          render();
        }
      } catch (e) {
        /* the server restarts: try again */
      }
    }
    pollTimer = setTimeout(pollPlaylist, wait);
  }

  /**
   * The server time (Unix ms) of the frame on screen, from the program
   * date times; null while none is known.
   */
  function playheadTime() {
    const t = video.currentTime;
    if (hls) {
      const frags = (details && details.fragments) || [];
      let best = null;
      for (const f of frags) {
        if (f.programDateTime === null || f.programDateTime === undefined ||
            !Number.isFinite(f.programDateTime)) {
          continue;
        }
        if (t >= f.start && t < f.start + f.duration) {
          best = f;
          break;
        }
        /* outside the window: the nearest segment's mapping */
        if (best === null || Math.abs(f.start - t) < Math.abs(best.start - t)) {
          best = f;
        }
      }
      if (best) return best.programDateTime + (t - best.start) * 1000;
      const d = hls.playingDate;
      return d && Number.isFinite(d.getTime()) ? d.getTime() : null;
    }
    if (typeof video.getStartDate === "function") {
      const start = video.getStartDate().getTime();
      if (Number.isFinite(start)) return start + t * 1000;
    }
    return null;
  }

  function activeRange(cls, at) {
    let best = null;
    for (const [id, r] of ranges) {
      if (r.cls !== cls || r.start > at || (r.end !== null && at >= r.end)) {
        continue;
      }
      if (best === null || r.start > best.r.start) best = { id, r };
    }
    return best;
  }

  /* ------------------------------------------------------------ drawing */

  function priceText(amount, currency) {
    const n = Number(amount);
    try {
      return new Intl.NumberFormat(opt.locale, { style: "currency", currency })
        .format(n);
    } catch (e) {
      return amount + " " + currency;
    }
  }

  function drawStock(offer) {
    const n = stockOf.has(offer.id) ? stockOf.get(offer.id)
      : (Number.isInteger(offer.stock) ? offer.stock : null);
    stock.hidden = n === null;
    if (n === null) {
      stock.textContent = "";
    } else {
      stock.textContent = n === 0 ? labels.soldOut : fill(labels.left, { n });
    }
    card.classList.toggle("ls-sold-out", n === 0);
    if (n === 0) {
      buy.setAttribute("aria-disabled", "true");
    } else {
      buy.removeAttribute("aria-disabled");
    }
  }

  function drawOffer(pin) {
    const offer = pin.r.event.data.offer;
    title.textContent = offer.title;
    now.textContent = priceText(offer.price, offer.currency);
    anchor.hidden = !offer.compare_at;
    anchor.textContent = offer.compare_at
      ? priceText(offer.compare_at, offer.currency) : "";
    const img = safeUrl(offer.image);
    image.hidden = img === null;
    if (img === null) {
      image.removeAttribute("src");
    } else {
      image.setAttribute("src", img);
    }
    const href = buyUrl(offer.url, opt.stream);
    buy.hidden = href === null;
    if (href === null) {
      buy.removeAttribute("href");
    } else {
      buy.setAttribute("href", href);
    }
    drawStock(offer);
  }

  function render() {
    if (destroyed) return;
    const at = playheadTime();
    if (at === null) return;

    let pin = activeRange(CLASS_OFFER, at);
    const until = pin && pin.r.event.data.until
      ? Date.parse(pin.r.event.data.until) : NaN;
    if (pin && Number.isFinite(until) && at >= until) pin = null;
    const offer = pin ? pin.r.event.data.offer : null;
    const pinId = pin ? pin.id : null;
    if (pinId !== shown.offer) {
      shown.offer = pinId;
      if (offer) drawOffer(pin);
      card.hidden = !offer || dismissed === pinId;
      emit("offer", { offer, at });
    }

    const cd = activeRange(CLASS_COUNTDOWN, at);
    const cdId = cd ? cd.id : null;
    if (cd) {
      const ends = Date.parse(cd.r.event.data.ends_at);
      countdownTime.textContent = formatCountdown(ends - at);
    }
    if (cdId !== shown.countdown) {
      shown.countdown = cdId;
      countdown.hidden = !cd;
      countdownLabel.textContent = cd
        ? (cd.r.event.data.label || labels.endsIn) : "";
      emit("countdown", { countdown: cd ? cd.r.event.data : null, at });
    }

    const dis = activeRange(CLASS_DISCLOSURE, at);
    let text = dis ? dis.r.event.data.text ||
                     labels.disclosure[dis.r.event.data.kind] || "" : "";
    /* an offer that needs a disclosure never goes without one (SPEC §3) */
    if (!text && offer && offer.disclosure) {
      text = labels.disclosure[offer.disclosure] || offer.disclosure;
    }
    if (text !== shown.disclosure) {
      shown.disclosure = text;
      disclosure.textContent = text;
      disclosure.hidden = !text;
      emit("disclosure", { text: text || null, at });
    }
  }

  /* ---------------------------------------------- Server-Sent Events */

  function onStock(offerId, n) {
    if (n === null || n === undefined) {
      stockOf.delete(offerId);
    } else {
      stockOf.set(offerId, n);
    }
    const pin = shown.offer && ranges.get(shown.offer);
    if (pin && pin.event.data.offer.id === offerId) {
      drawStock(pin.event.data.offer);
    }
    emit("stock", { offer_id: offerId, stock: n === undefined ? null : n });
  }

  let tickerTimer = null;
  function onPurchase(data) {
    const name = titles.get(data.offer_id) || data.offer_id;
    ticker.textContent = fill(labels.sold, { n: data.quantity, title: name });
    ticker.hidden = false;
    clearTimeout(tickerTimer);
    tickerTimer = setTimeout(() => { ticker.hidden = true; }, 6000);
    emit("purchase", data);
  }

  function onMessage(ev) {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (ev.lastEventId) lastSeq = ev.lastEventId;
    retry = 1000;
    if (ev.type === "state") {
      stockOf.clear();
      for (const [id, n] of Object.entries(msg.stock || {})) stockOf.set(id, n);
      if (msg.pinned && msg.pinned.offer) {
        titles.set(msg.pinned.offer.id, msg.pinned.offer.title);
      }
      const pin = shown.offer && ranges.get(shown.offer);
      if (pin) drawStock(pin.event.data.offer);
      emit("stock", { stock: Object.fromEntries(stockOf) });
      return;
    }
    const d = msg.data || {};
    switch (msg.type) {
    case "offer.pinned":
      if (d.offer) titles.set(d.offer.id, d.offer.title);
      break;
    case "stock.changed":
      onStock(d.offer_id, d.stock);
      break;
    case "offer.sold_out":
      onStock(d.offer_id, 0);
      break;
    case "purchase.completed":
      onPurchase(d);
      break;
    default:
      break;
    }
  }

  function connect() {
    if (destroyed || !opt.sse || typeof EventSource === "undefined") return;
    const url = new URL(eventsUrl);
    /* a new EventSource sends no Last-Event-ID: the query carries it */
    if (lastSeq !== null) url.searchParams.set("last_event_id", lastSeq);
    source = new EventSource(url.toString());
    emit("connection", { state: "connecting" });
    source.onopen = () => emit("connection", { state: "open" });
    for (const t of SSE_TYPES) source.addEventListener(t, onMessage);
    source.onerror = () => {
      /* CONNECTING: the browser retries with Last-Event-ID by itself */
      if (source.readyState !== EventSource.CLOSED) {
        emit("connection", { state: "connecting" });
        return;
      }
      emit("connection", { state: "closed" });
      source = null;
      reconnectTimer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  /* ----------------------------------------------------------- wiring */

  /* a picture that does not load leaves no broken icon */
  image.addEventListener("error", () => { image.hidden = true; });

  close.addEventListener("click", () => {
    dismissed = shown.offer;
    card.hidden = true;
  });

  const onTime = () => render();
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);
  /* the countdown ticks between timeupdates */
  const tick = setInterval(render, 250);

  if (hls) {
    const Events = hls.constructor.Events ||
                   (globalThis.Hls && globalThis.Hls.Events);
    hls.on(Events.LEVEL_UPDATED, onLevel);
    hls.on(Events.LEVEL_LOADED, onLevel);
    for (const level of hls.levels || []) {
      if (level.details) fromHlsDetails(level.details);
    }
  } else {
    pollPlaylist();
  }
  connect();

  return {
    /** Removes the overlay and stops listening; the video plays on. */
    destroy() {
      destroyed = true;
      clearInterval(tick);
      clearTimeout(tickerTimer);
      clearTimeout(pollTimer);
      clearTimeout(reconnectTimer);
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("seeked", onTime);
      if (hls) {
        const Events = hls.constructor.Events ||
                       (globalThis.Hls && globalThis.Hls.Events);
        hls.off(Events.LEVEL_UPDATED, onLevel);
        hls.off(Events.LEVEL_LOADED, onLevel);
      }
      if (source) source.close();
      root.remove();
      container.classList.remove("ls-stage");
    },
    /** The server time (Unix ms) of the frame on screen, or null. */
    now: playheadTime,
    /** What is shown: {offer, countdown, disclosure} range ids/text. */
    state() {
      return Object.assign({ stock: Object.fromEntries(stockOf) }, shown);
    },
  };
}
