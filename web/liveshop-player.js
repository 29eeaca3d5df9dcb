/*
 * liveshop player overlay: the shoppable card over a live HLS <video>.
 *
 *   import { attachLiveShop, sessionId, withSession }
 *     from "./liveshop-player.js";
 *   const session = sessionId();
 *   hls.loadSource(withSession("/hls/demo.m3u8", session));
 *   const shop = attachLiveShop(video, { hls, api: "/shop/",
 *                                        stream: "live/demo", session });
 *   ...
 *   shop.destroy();
 *
 * What is shown follows the viewer's playback position, not the wall clock:
 * the offers, countdowns and disclosures come from the playlist's
 * EXT-X-DATERANGE tags (SPEC §7), whose START-DATE / END-DATE are server
 * times, and the playback position is turned into a server time with the
 * segments' EXT-X-PROGRAM-DATE-TIME. A card therefore appears when the
 * frame the host pinned it on is on screen, however far behind the live
 * edge this viewer is. Stock, purchases, the show and the audience are live
 * facts and come from the stream's Server-Sent Events (SPEC §8, §14).
 *
 * Before a show (no media, no show live) a lobby takes the video's place:
 * the next show, a countdown, its teased offers and a calendar link.
 *
 * The viewer is one session (SPEC §14): a random id made once per browser
 * tab, sent on the playlist and event stream URLs and with the impression
 * and click beacons, so the server counts a viewer once.
 *
 * Under the video, a panel (SPEC §15) shows the question the host pinned
 * (with the host's answer), lets the viewer vote in the running poll and
 * see its results, and, with the option ask, ask the host a question.
 *
 * Everything from the server is shown as text (titles may hold anything,
 * SPEC §2; questions, names and poll options are viewers' text, each in
 * its own bidi isolate); links and images must be http(s) URLs.
 *
 * No dependencies; hls.js 1.2 or later, or Safari's native HLS.
 */

const CLASS_OFFER = "org.liveshop.offer";
const CLASS_COUNTDOWN = "org.liveshop.countdown";
const CLASS_DISCLOSURE = "org.liveshop.disclosure";

/* Events that change stock, make the ticker move, start or end the show
   (SPEC §3, §14), and the unnumbered audience message. */
const SSE_TYPES = [
  "state", "offer.pinned", "offer.unpinned", "countdown.started",
  "countdown.ended", "disclosure.shown", "disclosure.hidden",
  "stock.changed", "offer.sold_out", "purchase.completed",
  "show.started", "show.ended", "audience",
  /* SPEC §15: the pinned question, polls and the unnumbered poll counts */
  "question.pinned", "question.unpinned", "poll.started", "poll.ended",
  "poll",
];

const DEFAULT_LABELS = {
  buy: "Buy now",
  left: "Only {n} left",
  soldOut: "Sold out",
  endsIn: "Ends in",
  sold: "{n} × {title} just sold",
  close: "Hide offer",
  product: "Product on air",
  watching: "{n} watching",
  nextShow: "Next show",
  host: "with {host}",
  starts: "Starts {when}",
  startsIn: "Starts in",
  startingSoon: "Starting any moment",
  teased: "In this show",
  calendar: "Add to calendar (.ics)",
  offline: "This stream is offline",
  offlineText: "No show is scheduled right now. Please come back later.",
  started: "The show has started",
  /* SPEC §15: the pinned question, the ask form, polls */
  questionFrom: "Question from {name}",
  questionAnon: "Question from a viewer",
  answer: "Answer",
  ask: "Ask the host",
  askText: "Your question",
  askName: "Your name (optional)",
  askHint: "Up to {max} characters.",
  askCount: "{n} / {max}",
  askLeft: "{n} characters left",
  askSend: "Send question",
  askEmpty: "Please write your question first.",
  askSending: "Sending…",
  askSent: "Sent — the host will see your question",
  askTooMany: "Too many questions — try again in {n} s",
  askFull: "The host has too many questions right now — please try again later.",
  askFailed: "Your question could not be sent — please try again.",
  poll: "Poll",
  pollEndsIn: "Closes in {time}",
  pollClosing: "Closing…",
  pollFinal: "Final results",
  pollResults: "Results",
  pollVote1: "{n} vote",
  pollVotes: "{n} votes",
  pollResult: "{option} — {votes} ({p}%)",
  pollTotal: "{votes} in total",
  pollVoted: "Thanks — your vote counts",
  pollAlready: "You have already voted in this poll",
  pollClosed: "This poll has closed",
  pollGone: "This poll is no longer open",
  pollTooMany: "Too many votes from your network — try again in {n} s",
  pollFailed: "Your vote could not be sent — please try again.",
  pollEnded: "Poll closed — {question} — {results}",
  disclosure: {
    ad: "Ad", sponsored: "Sponsored", affiliate: "Affiliate link",
    gifted: "Gifted", own: "Own product",
  },
};

/* Keeps at most this many ranges that have ended (old ones go first). */
const MAX_ENDED_RANGES = 64;

/* SPEC §14: the server takes 8-64 of these; we make 22 (132 bits). */
const SESSION_RE = /^[A-Za-z0-9_-]{8,64}$/;
const SESSION_KEY = "liveshop-session";
const SESSION_ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/* the pins this tab has counted an impression for (a reload counts none
   again), the newest kept */
const IMPRESSIONS_KEY = "liveshop-impressions";
const MAX_IMPRESSIONS_KEPT = 200;

/* SPEC §15 limits, in code points (the server counts after cleaning,
   which never makes a text longer) */
const QUESTION_MAX = 280;
const NAME_MAX = 40;
/* the ask form's spoken counter: only when this few are left */
const ASK_LEFT_SAY = [20, 10, 0];
/* the polls this tab voted in (a reload shows the results), newest kept */
const VOTES_KEY = "liveshop-votes";
const MAX_VOTES_KEPT = 50;

/* An impression: the card at least half in view for this long. */
const IMPRESSION_RATIO = 0.5;
const IMPRESSION_MS = 1000;
/* GET shows at most this often while the lobby is up. */
const LOBBY_POLL_MS = 60000;
/* The screen-reader countdown changes at most this often. */
const LOBBY_SAY_MS = 60000;
/* Media that played and stopped: the lobby only after this long, so a
   restart of nginx or a short stall does not flash it. */
const STALL_MS = 8000;

let stylesheetAdded = false;
let lobbies = 0;          /* for unique ids of the lobbies' headings */

function storage() {
  try {
    return window.sessionStorage || null;
  } catch (e) {
    return null;          /* storage disabled, a sandboxed frame */
  }
}

/**
 * This tab's viewer session (SPEC §14): 22 random characters of
 * [A-Za-z0-9_-], made once and kept in sessionStorage, so a reload is
 * the same viewer and another tab another one. Without storage, one per
 * page.
 */
export function sessionId() {
  const store = storage();
  try {
    const kept = store && store.getItem(SESSION_KEY);
    if (kept && SESSION_RE.test(kept)) return kept;
  } catch (e) {
    /* unreadable: make one */
  }
  const bytes = new Uint8Array(22);
  if (globalThis.crypto && crypto.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.random() * 256;
  }
  /* 256 is a multiple of 64: every character is equally likely */
  const id = Array.from(bytes, (b) => SESSION_ALPHABET[b & 63]).join("");
  try {
    if (store) store.setItem(SESSION_KEY, id);
  } catch (e) {
    /* full or disabled: this page keeps it */
  }
  return id;
}

/**
 * url with session=SESSION in its query (replacing one there), for the
 * playlist URL given to hls.js or the <video>: hls.js reloads the same
 * URL, so every playlist request carries it.
 */
export function withSession(url, session) {
  const u = new URL(url, document.baseURI);
  u.searchParams.set("session", session);
  return u.toString();
}

/*
 * The buy URL (SPEC §16, docs/player.md "The buy URL"): the same rule as
 * the core's lshop_buy_url (shared/src/offer.c), both held to the table
 * tests/data/buy_urls.json. Work on the string, not on a URL object, so
 * that the shop's URL stays byte for byte.
 */
const STREAM_PART_RE = /^[A-Za-z0-9._-]{1,64}$/;
const CHECKOUT_FIELDS = ["{stream}", "{src}", "{ref}"];

function streamValid(s) {
  const parts = typeof s === "string" ? s.split("/") : [];
  return parts.length === 2 && parts.every((p) => STREAM_PART_RE.test(p) &&
                                           p !== "." && p !== "..");
}

/* An absolute http(s) URL with a host, of the bytes RFC 3986 allows raw. */
function urlValid(s) {
  if (s.length > 2048) return false;
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c <= 0x20 || c >= 0x7f || '"<>\\^`{|}'.includes(ch)) return false;
  }
  const m = /^https?:\/\//i.exec(s);
  if (m === null) return false;
  const rest = s.slice(m[0].length);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  let port;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) return false;
    port = host.slice(close + 1);
    if (port !== "" && !port.startsWith(":")) return false;
  } else {
    const colon = host.indexOf(":");
    if (colon === 0 || host === "") return false;
    port = colon < 0 ? "" : host.slice(colon);
  }
  return /^(:[0-9]*)?$/.test(port);
}

/* A checkout template with "x" for its placeholders, or null. */
function checkoutFilled(t) {
  if (t.length > 2048) return null;
  const scheme = /^https:\/\//i.test(t) ? 8 : 7;
  const rest = t.slice(scheme);
  const authority = scheme + rest.search(/[/?#]|$/);
  const seen = new Set();
  let filled = "";
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "}") return null;
    if (t[i] !== "{") {
      filled += t[i];
      continue;
    }
    const f = CHECKOUT_FIELDS.find((name) => t.startsWith(name, i));
    if (f === undefined || seen.has(f) || i < authority) return null;
    seen.add(f);
    filled += "x";
    i += f.length - 1;
  }
  if (!seen.has("{stream}") && !seen.has("{ref}")) return null;
  return urlValid(filled) ? filled : null;
}

/** A stream and source as a Stripe client_reference_id (lshop_ref_encode). */
export function buyRef(stream, source) {
  const b64 = btoa(stream).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  return "ls1" + (source === "qr" ? "q" : "p") + "_" + b64;
}

/**
 * The URL a buyer follows for an offer (url, and checkout if it has one)
 * in a stream, from a source ("player" or "qr"); null when the rule
 * accepts none.
 */
export function buyUrl(url, stream, source = "player", checkout = "") {
  if (!streamValid(stream) || (source !== "player" && source !== "qr")) {
    return null;
  }
  if (typeof checkout === "string" && checkout !== "") {
    if (checkoutFilled(checkout) === null) return null;
    return checkout.replace(/\{(stream|src|ref)\}/g, (all, name) =>
      name === "stream" ? encodeURIComponent(stream)
        : name === "src" ? source : buyRef(stream, source));
  }
  if (typeof url !== "string" || !urlValid(url)) return null;
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const q = base.indexOf("?");
  const params = (q < 0 ? [] : base.slice(q + 1).split("&"))
    .filter((p) => p !== "" && !/^(ls_stream|ls_src)(=|$)/.test(p));
  params.push("ls_stream=" + encodeURIComponent(stream));
  if (source === "qr") params.push("ls_src=qr");
  return (q < 0 ? base : base.slice(0, q)) + "?" + params.join("&") +
    (hash < 0 ? "" : url.slice(hash));
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

/**
 * How long until a start, in words that change at most once a minute:
 * "in 10 minutes", "in 3 hours", "in 2 days" (Intl.RelativeTimeFormat of
 * locale); null from the start on.
 */
export function startsWhen(ms, locale) {
  if (!(ms > 0)) return null;
  let rtf;
  try {
    rtf = new Intl.RelativeTimeFormat(locale, { numeric: "always" });
  } catch (e) {
    rtf = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  }
  const min = Math.ceil(ms / 60000);
  if (min < 120) return rtf.format(min, "minute");
  const hours = Math.round(ms / 3600000);
  if (hours < 48) return rtf.format(hours, "hour");
  return rtf.format(Math.round(ms / 86400000), "day");
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

/* The template's text with {name} placeholders replaced by DOM nodes
   (viewer text isolated in a <bdi>), the rest by fill's values: for
   el.replaceChildren(...). */
function fillNodes(template, nodes, values) {
  const out = [];
  const re = /\{(\w+)\}/g;
  let at = 0;
  let m;
  while ((m = re.exec(template)) !== null) {
    if (!(m[1] in nodes)) continue;
    if (m.index > at) out.push(fill(template.slice(at, m.index), values || {}));
    out.push(nodes[m[1]]);
    at = m.index + m[0].length;
  }
  if (at < template.length) out.push(fill(template.slice(at), values || {}));
  return out;
}

/* Viewer text in its own bidi isolate: an RTL name or question cannot
   reorder the text around it. */
function bdi(text, cls) {
  const e = el("bdi", cls);
  e.textContent = text;
  return e;
}

/** The number of Unicode code points of s (what SPEC §15 limits count). */
export function codePoints(s) {
  let n = 0;
  for (const _ of String(s)) n++;   // eslint-disable-line no-unused-vars
  return n;
}

/** s cut to at most max code points (never half a surrogate pair). */
function cutCodePoints(s, max) {
  if (s.length <= max) return s;              /* code units >= points */
  let n = 0;
  let i = 0;
  for (const c of s) {
    if (n === max) return s.slice(0, i);
    n++;
    i += c.length;
  }
  return s;
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
 *   session    the viewer's session id (default: sessionId(), one per tab);
 *              give the playlist URL the same (withSession)
 *   locale     for prices and times (default: the browser's)
 *   labels     texts to replace (see DEFAULT_LABELS)
 *   stylesheet false: do not add liveshop-player.css (bring your own)
 *   sse        false: no Server-Sent Events (no live stock, no ticker)
 *   beacons    false: send no impression and click beacons to the server
 *   dataLayer  false: push nothing onto window.dataLayer
 *   lobby      false: no lobby before the show (and no GET shows)
 *   questions  false: do not show the host's pinned question
 *   polls      false: do not show polls (and so no voting)
 *   ask        true: a form to ask the host a question (default off)
 *   panel      element the questions-and-polls panel goes into (default:
 *              right after the container, under the video)
 *
 * The pinned question, polls and the ask form (SPEC §15) are a panel
 * under the video, not over it: a question may be 280 characters long,
 * and a form over the picture would hide it. They follow the live event
 * stream (the host's now), like stock: a poll runs on the clock.
 *
 * Returns {destroy(), now(), state(), session}; the container gets DOM
 * events "liveshop:offer", "liveshop:countdown", "liveshop:disclosure",
 * "liveshop:stock", "liveshop:purchase", "liveshop:connection",
 * "liveshop:show", "liveshop:lobby", "liveshop:audience",
 * "liveshop:question", "liveshop:poll" and "liveshop:asked"; the overlay
 * (.ls-overlay) dispatches "liveshop:impression" and "liveshop:click",
 * which bubble.
 */
export function attachLiveShop(video, options = {}) {
  const opt = Object.assign({ api: "/shop/", sse: true, stylesheet: true,
                              beacons: true, dataLayer: true, lobby: true,
                              questions: true, polls: true, ask: false },
                            options);
  if (!video || !opt.stream) {
    throw new TypeError("attachLiveShop(video, {stream: \"APP/NAME\", ...})");
  }
  const labels = Object.assign({}, DEFAULT_LABELS, opt.labels || {});
  labels.disclosure = Object.assign({}, DEFAULT_LABELS.disclosure,
                                    (opt.labels || {}).disclosure || {});
  const hls = opt.hls || null;
  const container = opt.container || video.parentElement;
  const session = typeof opt.session === "string" &&
                  SESSION_RE.test(opt.session) ? opt.session : sessionId();
  const apiBase = new URL(opt.api.endsWith("/") ? opt.api : opt.api + "/",
                          document.baseURI);
  const streamPath = "v1/streams/" + opt.stream.split("/")
    .map(encodeURIComponent).join("/") + "/";
  const eventsUrl = new URL(streamPath + "events", apiBase);
  eventsUrl.searchParams.set("session", session);
  const showsUrl = new URL(streamPath + "shows", apiBase);
  const beaconUrl = new URL(streamPath + "beacon", apiBase);
  const questionsUrl = new URL(streamPath + "questions", apiBase);

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
  /* changes every few seconds: never read out by itself */
  const viewers = el("div", "ls-viewers", { "aria-live": "off" });
  /* "The show has started": outside the lobby, which goes away */
  const announce = el("div", "ls-announce ls-visually-hidden",
                      { role: "status", "aria-live": "polite" });
  root.append(disclosure, countdown, live, ticker, viewers, announce);
  container.appendChild(root);
  for (const e of [disclosure, countdown, card, image, anchor, stock, ticker,
                   viewers]) {
    e.hidden = true;
  }

  /* The lobby takes the video's place (the video is display: none
     meanwhile, so neither it nor its controls can be tabbed to). */
  const lobbyNo = ++lobbies;
  const lobby = el("section", "ls-lobby",
                   { "aria-labelledby": "ls-lobby-title-" + lobbyNo });
  const lobbyKicker = el("p", "ls-lobby-kicker");
  lobbyKicker.textContent = labels.nextShow;
  const lobbyTitle = el("h2", "ls-lobby-title",
                        { id: "ls-lobby-title-" + lobbyNo });
  const lobbyHost = el("p", "ls-lobby-host");
  const lobbyText = el("p", "ls-lobby-text");
  const lobbyWhen = el("p", "ls-lobby-when");
  const lobbyDate = el("time", "ls-lobby-date");
  lobbyWhen.append(lobbyDate);
  const lobbyCountdown = el("div", "ls-lobby-countdown");
  /* seen: ticks every second; heard: at most once a minute */
  const lobbySeen = el("p", "ls-lobby-seen", { "aria-hidden": "true" });
  const lobbyTicking = el("span", "ls-lobby-ticking");
  lobbySeen.append(lobbyTicking);
  const lobbySaid = el("p", "ls-lobby-said ls-visually-hidden",
                       { "aria-live": "polite", "aria-atomic": "true" });
  lobbyCountdown.append(lobbySeen, lobbySaid);
  const lobbyTeasedTitle = el("h3", "ls-lobby-teased-title",
                              { id: "ls-lobby-teased-" + lobbyNo });
  lobbyTeasedTitle.textContent = labels.teased;
  const lobbyOffers = el("ul", "ls-lobby-offers",
                         { "aria-labelledby": "ls-lobby-teased-" + lobbyNo });
  const lobbyCalendar = el("a", "ls-lobby-calendar");
  lobbyCalendar.textContent = labels.calendar;
  lobby.append(lobbyKicker, lobbyTitle, lobbyHost, lobbyText, lobbyWhen,
               lobbyCountdown, lobbyTeasedTitle, lobbyOffers, lobbyCalendar);
  lobby.hidden = true;
  container.appendChild(lobby);

  /* Questions and polls (SPEC §15): a panel under the video. Everything
     in it from the server or a viewer is text (textContent) in a bidi
     isolate; it is hidden while it has nothing to show. */
  const panel = el("div", "ls-panel");
  const uid = (part) => "ls-" + part + "-" + lobbyNo;

  /* the pinned question: a polite live region, read when it appears */
  const questionLive = el("div", "ls-question-live", { "aria-live": "polite" });
  const questionCard = el("section", "ls-question",
                          { "aria-labelledby": uid("question-from") });
  const questionFrom = el("h3", "ls-question-from",
                          { id: uid("question-from") });
  const questionText = el("p", "ls-question-text", { dir: "auto" });
  const answerBox = el("div", "ls-answer");
  const answerLabel = el("p", "ls-answer-label");
  answerLabel.textContent = labels.answer;
  const answerText = el("p", "ls-answer-text", { dir: "auto" });
  answerBox.append(answerLabel, answerText);
  questionCard.append(questionFrom, questionText, answerBox);
  questionLive.append(questionCard);

  /* the poll: vote with one button per option, then the results */
  const pollBox = el("section", "ls-poll", { "aria-labelledby": uid("poll") });
  const pollHead = el("div", "ls-poll-head");
  const pollTitle = el("h3", "ls-poll-title", { id: uid("poll") });
  pollTitle.textContent = labels.poll;
  /* a timer is not read out by itself (role timer: aria-live off) */
  const pollClock = el("p", "ls-poll-clock", { role: "timer" });
  pollHead.append(pollTitle, pollClock);
  const pollVote = el("fieldset", "ls-poll-vote");
  const pollLegend = el("legend", "ls-poll-question", { dir: "auto" });
  const pollOptions = el("div", "ls-poll-options");
  pollVote.append(pollLegend, pollOptions);
  const pollResults = el("div", "ls-poll-results");
  const pollResultsQuestion = el("p", "ls-poll-question",
                                 { dir: "auto", id: uid("poll-question") });
  const pollList = el("ul", "ls-poll-list", {
    "aria-labelledby": uid("poll-question"), tabindex: "-1" });
  const pollTotal = el("p", "ls-poll-total");
  pollResults.append(pollResultsQuestion, pollList, pollTotal);
  const pollStatus = el("p", "ls-poll-status",
                        { role: "status", "aria-live": "polite" });
  /* the final results, said once when the poll closes */
  const pollSaid = el("p", "ls-poll-said ls-visually-hidden",
                      { "aria-live": "polite", "aria-atomic": "true" });
  pollBox.append(pollHead, pollVote, pollResults, pollStatus, pollSaid);

  /* the ask form */
  const askForm = el("form", "ls-ask", { "aria-labelledby": uid("ask"),
                                         novalidate: "" });
  const askTitle = el("h3", "ls-ask-title", { id: uid("ask") });
  askTitle.textContent = labels.ask;
  const askTextLabel = el("label", "ls-ask-label", { for: uid("ask-text") });
  askTextLabel.textContent = labels.askText;
  const askText = el("textarea", "ls-ask-text", {
    id: uid("ask-text"), name: "text", rows: "3", "aria-required": "true",
    "aria-describedby": uid("ask-hint"), dir: "auto", autocomplete: "off" });
  const askMeta = el("div", "ls-ask-meta");
  const askHint = el("span", "ls-ask-hint ls-visually-hidden",
                     { id: uid("ask-hint") });
  askHint.textContent = fill(labels.askHint, { max: QUESTION_MAX });
  /* seen: a live count; heard: only when few are left */
  const askCount = el("span", "ls-ask-count", { "aria-hidden": "true" });
  const askLeft = el("span", "ls-ask-left ls-visually-hidden",
                     { "aria-live": "polite" });
  askMeta.append(askHint, askCount, askLeft);
  const askNameLabel = el("label", "ls-ask-label", { for: uid("ask-name") });
  askNameLabel.textContent = labels.askName;
  const askName = el("input", "ls-ask-name", {
    id: uid("ask-name"), name: "name", type: "text", dir: "auto",
    autocomplete: "nickname" });
  const askSend = el("button", "ls-ask-send", { type: "submit" });
  askSend.textContent = labels.askSend;
  const askStatus = el("p", "ls-ask-status",
                       { role: "status", "aria-live": "polite" });
  askForm.append(askTitle, askTextLabel, askText, askMeta, askNameLabel,
                 askName, askSend, askStatus);

  panel.append(questionLive, pollBox);
  if (opt.ask) panel.append(askForm);
  for (const e of [questionCard, answerBox, pollBox, pollResults]) {
    e.hidden = true;
  }
  if (opt.panel) {
    opt.panel.appendChild(panel);
  } else {
    container.after(panel);
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

  let currentShow = null;            // the SHOW on air, null: none
  let showLive = null;               // true / false; null: not known yet
  let mediaDown = null;              // the playlist failed to load (404)
  let lastTime = -1;                 // video.currentTime at the last look
  let lastAdvance = 0;               // performance.now() it last moved
  let audience = 0;

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
  let polling = false;
  async function pollPlaylist() {
    if (destroyed || polling) return;
    polling = true;
    /* no stream yet: a look every 10 s is enough (the show's start
       makes one at once, see setShow) */
    let wait = lobbyOn ? 10000 : 2000;
    const url = opt.playlist || video.currentSrc || video.src;
    if (url) {
      try {
        const r = await fetch(url, { cache: "no-store" });
        if (r.status === 404 || r.status === 410) mediaDown = true;
        if (r.ok) {
          const pl = parsePlaylist(await r.text());
          nativeSegments = pl.segments;
          mediaDown = pl.segments.length === 0;
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
    polling = false;
    clearTimeout(pollTimer);
    if (!destroyed) pollTimer = setTimeout(pollPlaylist, wait);
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
    const href = buyUrl(offer.url, opt.stream, "player", offer.checkout);
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
      watchImpression();
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

  /* ------------------------------------------- impressions and clicks */

  /* the pins this tab counted, kept across a reload (SPEC §14: one
     impression per pin per session) */
  const impressed = new Set();
  try {
    const kept = JSON.parse((storage() || { getItem: () => null })
      .getItem(IMPRESSIONS_KEY) || "[]");
    if (Array.isArray(kept)) for (const id of kept) impressed.add(String(id));
  } catch (e) {
    /* unreadable: none counted yet */
  }

  function rememberImpression(pinId) {
    impressed.add(pinId);
    const keep = [...impressed].slice(-MAX_IMPRESSIONS_KEPT);
    try {
      const store = storage();
      if (store) store.setItem(IMPRESSIONS_KEY, JSON.stringify(keep));
    } catch (e) {
      /* full or disabled: this page remembers */
    }
  }

  let beaconsPausedUntil = 0;        // after a 429: Retry-After

  /* POST …/beacon (SPEC §14). Fire and forget: the page never waits for
     it, and a beacon that fails is not sent again. */
  function beacon(type, offerId) {
    if (!opt.beacons || Date.now() < beaconsPausedUntil) return;
    const payload = JSON.stringify({ type, offer: offerId, session });
    try {
      fetch(beaconUrl, {
        method: "POST", keepalive: true, body: payload,
        headers: { "Content-Type": "application/json" },
      }).then((r) => {
        if (r.status === 429) {
          const s = parseInt(r.headers.get("Retry-After"), 10);
          beaconsPausedUntil = Date.now() +
            Math.min(Number.isFinite(s) && s > 0 ? s : 60, 3600) * 1000;
        }
      }, () => {});
    } catch (e) {
      /* no fetch, or keepalive refused (the page is going away) */
      try {
        if (navigator.sendBeacon) {
          navigator.sendBeacon(beaconUrl, new Blob(
            [payload], { type: "application/json" }));
        }
      } catch (e2) {
        /* silent: analytics never breaks the page */
      }
    }
  }

  /* One impression or click: the beacon, the page's dataLayer and a DOM
     event with the same fields. */
  function track(kind, offer) {
    const fields = () => ({
      stream: opt.stream,
      offer_id: offer.id,
      title: offer.title,
      price: offer.price,
      currency: offer.currency,
      show_id: currentShow ? currentShow.id : null,
    });
    beacon(kind, offer.id);
    if (opt.dataLayer) {
      try {
        (window.dataLayer = window.dataLayer || [])
          .push({ event: "liveshop_" + kind, liveshop: fields() });
      } catch (e) {
        /* a dataLayer that throws is the page's business */
      }
    }
    root.dispatchEvent(new CustomEvent("liveshop:" + kind,
                                       { bubbles: true, detail: fields() }));
  }

  function pinnedOffer() {
    const pin = shown.offer && ranges.get(shown.offer);
    return pin ? pin.event.data.offer : null;
  }

  /* An impression: this pin's card at least half in the viewport, in a
     visible tab, for one second without a break. */
  let cardInView = false;
  let seenTimer = null;
  let seenPin = null;

  function impressionDue() {
    return shown.offer !== null && !card.hidden && cardInView &&
           document.visibilityState !== "hidden" &&
           !impressed.has(shown.offer) && pinnedOffer() !== null;
  }

  function watchImpression() {
    const due = impressionDue();
    if (due && seenPin === shown.offer) return;      /* already timing */
    clearTimeout(seenTimer);
    seenTimer = null;
    seenPin = null;
    if (!due) return;
    seenPin = shown.offer;
    seenTimer = setTimeout(() => {
      const pinId = seenPin;
      seenTimer = null;
      seenPin = null;
      if (destroyed || pinId !== shown.offer || !impressionDue()) return;
      rememberImpression(pinId);
      track("impression", pinnedOffer());
    }, IMPRESSION_MS);
  }

  const observer = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        cardInView = e.isIntersecting &&
                     e.intersectionRatio >= IMPRESSION_RATIO;
      }
      watchImpression();
    }, { threshold: [0, IMPRESSION_RATIO, 1] })
    : null;               /* no observer: no impressions, clicks still */

  /* a press of the buy button, mouse or keyboard (Enter on a link is a
     click); the link navigates as always, nothing waits for the beacon */
  function onBuy(e) {
    if (e.type === "auxclick" && e.button !== 1) return;
    const offer = pinnedOffer();
    if (offer) track("click", offer);
  }

  /* ----------------------------------------------- the show and the lobby */

  function setShow(show) {
    const was = showLive;
    currentShow = show || null;
    showLive = currentShow !== null;
    if (was !== showLive) emit("show", { show: currentShow, live: showLive });
    if (showLive && was !== true && !hls && !polling) {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(pollPlaylist, 0);
    }
    updateLobby();
  }

  function setAudience(n) {
    if (!Number.isInteger(n) || n < 0) return;
    audience = n;
    drawAudience();
    emit("audience", { viewers: n });
  }

  function drawAudience() {
    const show = audience > 0 && !lobbyOn;
    viewers.hidden = !show;
    if (show) {
      let n = String(audience);
      try {
        n = new Intl.NumberFormat(opt.locale).format(audience);
      } catch (e) {
        /* a bad locale: digits */
      }
      viewers.textContent = fill(labels.watching, { n });
    }
  }

  /* hls.js: the playlist loads (media is there) or fails (404: none) */
  function onHlsLoaded() {
    if (mediaDown !== false) {
      mediaDown = false;
      updateLobby();
    }
  }

  const PLAYLIST_FAILURES = ["manifestLoadError", "manifestLoadTimeOut",
                             "manifestParsingError", "levelLoadError",
                             "levelLoadTimeOut", "levelEmptyError"];

  function onHlsError(_name, data) {
    if (data && PLAYLIST_FAILURES.includes(data.details)) {
      mediaDown = true;
      updateLobby();
    }
  }

  /* The media flows: the playhead moved within the last moments. */
  function flowing() {
    const t = video.currentTime;
    const at = performance.now();
    if (t !== lastTime) {
      if (lastTime >= 0 && t > lastTime) lastAdvance = at;
      lastTime = t;
    }
    return lastAdvance > 0 && !video.paused && at - lastAdvance < 2000;
  }

  let lobbyOn = false;               // the lobby is wanted
  let lobbyData;                     // GET shows; undefined: not loaded
  let lobbyFetchedAt = -Infinity;
  let lobbyFetching = false;
  let lobbyPollTimer = null;
  let lobbyTarget = null;            // next start, Unix ms (client clock)
  let lobbySaidAt = -Infinity;
  let clockSkew = 0;                 // server clock - ours (ms)
  const reducedMotion = typeof matchMedia === "function"
    ? matchMedia("(prefers-reduced-motion: reduce)") : null;

  /*
   * The lobby is up while no show is live and no media plays, once that
   * is known: the playlist failed (no stream), or the server says no
   * show is on. Media that played must have stood still for STALL_MS;
   * a video the viewer paused while its playlist loads is no reason.
   */
  function lobbyWanted() {
    if (!opt.lobby || showLive === true || flowing()) return false;
    const still = lastAdvance === 0 ||
                  performance.now() - lastAdvance >= STALL_MS;
    if (mediaDown === true) return still;
    if (showLive !== false) return false;
    return lastAdvance === 0 || (still && !video.paused);
  }

  function updateLobby() {
    if (destroyed) return;
    const want = lobbyWanted();
    if (want && !lobbyOn) {
      enterLobby();
    } else if (!want && lobbyOn) {
      leaveLobby();
    } else if (lobbyOn) {
      tickLobby();
    }
  }

  function enterLobby() {
    lobbyOn = true;
    drawAudience();
    emit("lobby", { shown: true });
    if (lobbyFetching) return;       /* its answer shows the lobby */
    const age = performance.now() - lobbyFetchedAt;
    if (lobbyData !== undefined && age < LOBBY_POLL_MS) {
      showLobby();
      scheduleShows(LOBBY_POLL_MS - age);
    } else {
      fetchShows();
    }
  }

  function leaveLobby() {
    const wasShown = !lobby.hidden;
    const hadFocus = lobby.contains(document.activeElement);
    lobbyOn = false;
    clearTimeout(lobbyPollTimer);
    lobbyPollTimer = null;
    lobby.hidden = true;
    video.classList.remove("ls-lobby-behind");
    container.classList.remove("ls-lobby-on");
    drawAudience();
    if (wasShown) {
      /* focus stays where the viewer put it; only focus that was in the
         lobby, now gone, goes to the video instead of the page's top */
      if (hadFocus) video.focus({ preventScroll: true });
      say(labels.started);
    }
    emit("lobby", { shown: false });
  }

  let sayTimer = null;
  function say(text) {
    announce.textContent = "";
    clearTimeout(sayTimer);
    /* a change the screen reader notices, also for the same text again */
    sayTimer = setTimeout(() => {
      announce.textContent = text;
      sayTimer = setTimeout(() => { announce.textContent = ""; }, 15000);
    }, 100);
  }

  function scheduleShows(ms) {
    clearTimeout(lobbyPollTimer);
    lobbyPollTimer = setTimeout(() => {
      lobbyPollTimer = null;
      if (lobbyOn) fetchShows();
    }, Math.max(0, ms));
  }

  async function fetchShows() {
    if (lobbyFetching || destroyed) return;
    lobbyFetching = true;
    lobbyFetchedAt = performance.now();
    let data = null;
    try {
      const r = await fetch(showsUrl, { cache: "no-store" });
      if (r.ok) {
        data = await r.json();
        /* a viewer's clock may be off: the countdown follows the
           server's (the Date header, to the second) */
        const date = Date.parse(r.headers.get("Date") || "");
        if (Number.isFinite(date)) {
          const skew = date + 500 - Date.now();
          clockSkew = Math.abs(skew) > 2000 ? skew : 0;
        }
      }
    } catch (e) {
      /* the server restarts: the next poll tries again */
    }
    lobbyFetching = false;
    if (destroyed) return;
    lobbyData = data && typeof data === "object" ? data : null;
    if (lobbyData && lobbyData.live && typeof lobbyData.live === "object" &&
        showLive !== true) {
      setShow(lobbyData.live);
    }
    if (!lobbyOn) return;
    showLobby();
    scheduleShows(LOBBY_POLL_MS);
  }

  function drawLobby() {
    const coming = lobbyData && Array.isArray(lobbyData.coming)
      ? lobbyData.coming.filter((s) => s && typeof s.id === "string" &&
                                       typeof s.title === "string")
      : [];
    const next = coming[0] || null;
    lobby.classList.toggle("ls-lobby-offline", next === null);
    lobbyKicker.hidden = next === null;
    lobbyText.hidden = next !== null;
    for (const e of [lobbyWhen, lobbyCountdown, lobbyCalendar]) {
      e.hidden = next === null;
    }
    if (next === null) {
      lobbyTarget = null;
      lobbyTitle.textContent = labels.offline;
      lobbyText.textContent = labels.offlineText;
      lobbyHost.hidden = true;
      lobbyTeasedTitle.hidden = true;
      lobbyOffers.hidden = true;
      lobbyOffers.replaceChildren();
      return;
    }
    lobbyTitle.textContent = next.title;
    lobbyHost.hidden = typeof next.host !== "string" || next.host === "";
    lobbyHost.textContent = lobbyHost.hidden ? ""
      : fill(labels.host, { host: next.host });
    const start = Date.parse(next.next || next.starts_at);
    lobbyTarget = Number.isFinite(start) ? start : null;
    lobbyWhen.hidden = lobbyTarget === null;
    if (lobbyTarget !== null) {
      lobbyDate.setAttribute("datetime", new Date(lobbyTarget).toISOString());
      let text;
      try {
        text = new Intl.DateTimeFormat(opt.locale, {
          weekday: "long", day: "numeric", month: "long",
          hour: "numeric", minute: "2-digit",
        }).format(lobbyTarget);
      } catch (e) {
        text = new Date(lobbyTarget).toString();
      }
      lobbyDate.textContent = text;
    }
    lobbyCalendar.setAttribute("href", new URL(
      streamPath + "shows/" + encodeURIComponent(next.id) + ".ics",
      apiBase).toString());
    lobbyCalendar.setAttribute("download", next.id + ".ics");

    const teased = Array.isArray(next.teased)
      ? next.teased.filter((o) => o && typeof o.title === "string") : [];
    lobbyTeasedTitle.hidden = teased.length === 0;
    lobbyOffers.hidden = teased.length === 0;
    lobbyOffers.replaceChildren(...teased.map((o) => {
      const li = el("li", "ls-lobby-offer");
      const src = safeUrl(o.image);
      if (src !== null) {
        /* the picture says what the product is: its title */
        const img = el("img", "ls-lobby-image",
                       { src, alt: o.title, loading: "lazy" });
        img.addEventListener("error", () => { img.hidden = true; });
        li.append(img);
      }
      const name = el("span", "ls-lobby-offer-title");
      name.textContent = o.title;
      const cost = el("span", "ls-lobby-offer-price");
      cost.textContent = priceText(o.price, o.currency);
      li.append(name, cost);
      return li;
    }));
  }

  function showLobby() {
    drawLobby();
    lobby.hidden = false;
    video.classList.add("ls-lobby-behind");
    container.classList.add("ls-lobby-on");
    tickLobby();
  }

  /* The countdown: the visible one every second (every minute with
     reduced motion), the spoken one at most once a minute. */
  function tickLobby() {
    if (lobby.hidden || lobbyTarget === null) return;
    const left = lobbyTarget - (Date.now() + clockSkew);
    const when = startsWhen(left, opt.locale);
    let seen;
    if (when === null) {
      seen = labels.startingSoon;
    } else if (left < 86400000 && !(reducedMotion && reducedMotion.matches)) {
      seen = labels.startsIn + " " + formatCountdown(left);
    } else {
      seen = fill(labels.starts, { when });
    }
    if (lobbyTicking.textContent !== seen) lobbyTicking.textContent = seen;
    const said = when === null ? labels.startingSoon
      : fill(labels.starts, { when });
    const at = performance.now();
    if (lobbySaid.textContent !== said &&
        (lobbySaid.textContent === "" || at - lobbySaidAt >= LOBBY_SAY_MS)) {
      lobbySaid.textContent = said;
      lobbySaidAt = at;
    }
  }

  /* ------------------------------------ questions and polls (SPEC §15) */

  let question = null;               // pinned: {id, text, name, answer}
  let questionKey = "null";          // what is drawn, to redraw changes only
  let poll = null;                   // {id, question, options, endsAt,
                                     //  counts, ended, closed, voted, said}
  let voting = false;
  let asking = false;
  let askBucket = null;              // the "N left" said last (a threshold)
  const statusTimers = new Map();

  function drawPanel() {
    const shown = [questionCard, pollBox, askForm]
      .filter((e) => !e.hidden && panel.contains(e));
    panel.hidden = shown.length === 0;
    /* a line between the parts shown, none above the first */
    shown.forEach((e, i) => e.classList.toggle("ls-sep", i > 0));
  }

  /* A status line that is read out also when the same text comes again. */
  function tell(node, text, bad) {
    node.textContent = "";
    node.classList.toggle("ls-bad", !!bad);
    clearTimeout(statusTimers.get(node));
    statusTimers.set(node, setTimeout(() => { node.textContent = text; }, 60));
  }

  function noteServerDate(r) {
    const date = Date.parse(r.headers.get("Date") || "");
    if (Number.isFinite(date)) {
      const skew = date + 500 - Date.now();
      clockSkew = Math.abs(skew) > 2000 ? skew : 0;
    }
  }

  /* Retry-After: seconds or an HTTP date; 5 s when absent. */
  function retryAfter(r) {
    const v = (r.headers.get("Retry-After") || "").trim();
    let s = /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
    if (!Number.isFinite(s)) {
      const at = Date.parse(v);
      if (Number.isFinite(at)) s = Math.ceil((at - Date.now()) / 1000);
    }
    return Number.isFinite(s) && s > 0 ? Math.min(s, 86400) : 5;
  }

  async function answerOf(r) {
    try {
      return await r.json();
    } catch (e) {
      return null;
    }
  }

  function errorOf(body) {
    return body && body.error && typeof body.error === "object"
      ? body.error : {};
  }

  async function post(url, payload) {
    const r = await fetch(url, {
      method: "POST", cache: "no-store", body: JSON.stringify(payload),
      headers: { "Content-Type": "application/json" },
    });
    noteServerDate(r);
    return { r, body: await answerOf(r) };
  }

  /* -- the pinned question */

  function setQuestion(q) {
    if (!opt.questions) return;
    const next = q && typeof q === "object" && typeof q.text === "string"
      ? { id: String(q.id || ""), text: q.text,
          name: typeof q.name === "string" ? q.name : "",
          answer: typeof q.answer === "string" && q.answer !== ""
            ? q.answer : null }
      : null;
    const key = JSON.stringify(next);
    if (key === questionKey) return;   /* the state again: nothing new */
    questionKey = key;
    question = next;
    if (next) {
      questionFrom.replaceChildren(...(next.name !== ""
        ? fillNodes(labels.questionFrom,
                    { name: bdi(next.name, "ls-question-name") })
        : [labels.questionAnon]));
      questionText.textContent = next.text;
      answerText.textContent = next.answer || "";
      answerBox.hidden = next.answer === null;
    }
    questionCard.hidden = next === null;
    drawPanel();
    emit("question", { question: next });
  }

  /* -- polls */

  const voteKey = (id) => opt.stream + " " + id;

  function keptVotes() {
    try {
      const kept = JSON.parse((storage() || { getItem: () => null })
        .getItem(VOTES_KEY) || "{}");
      return kept && typeof kept === "object" && !Array.isArray(kept)
        ? kept : {};
    } catch (e) {
      return {};
    }
  }

  function keepVote(id, option) {
    const kept = keptVotes();
    delete kept[voteKey(id)];
    kept[voteKey(id)] = option;          /* the newest last */
    const keys = Object.keys(kept);
    for (const k of keys.slice(0, Math.max(0, keys.length - MAX_VOTES_KEPT))) {
      delete kept[k];
    }
    try {
      const store = storage();
      if (store) store.setItem(VOTES_KEY, JSON.stringify(kept));
    } catch (e) {
      /* full or disabled: this page remembers */
    }
  }

  function countsOf(counts, n) {
    return Array.isArray(counts) && counts.length === n &&
           counts.every((c) => Number.isInteger(c) && c >= 0)
      ? counts.slice() : null;
  }

  function number(n) {
    try {
      return new Intl.NumberFormat(opt.locale).format(n);
    } catch (e) {
      return String(n);
    }
  }

  function votesText(n) {
    let one = n === 1;
    try {
      one = new Intl.PluralRules(opt.locale).select(n) === "one";
    } catch (e) {
      /* a bad locale: English */
    }
    return fill(one ? labels.pollVote1 : labels.pollVotes, { n: number(n) });
  }

  function percents(counts) {
    const total = counts.reduce((a, b) => a + b, 0);
    return counts.map((c) => (total ? Math.round(c * 100 / total) : 0));
  }

  /* "Option — N votes (P%)" of each option, for the final announcement */
  function resultsText() {
    const p = percents(poll.counts);
    return poll.options.map((o, i) => fill(labels.pollResult, {
      option: o, votes: votesText(poll.counts[i]), p: p[i] })).join("; ");
  }

  function pollSnapshot() {
    return poll && { id: poll.id, question: poll.question,
                     options: poll.options.slice(),
                     ends_at: poll.endsAt === null ? null
                       : new Date(poll.endsAt).toISOString(),
                     counts: poll.counts.slice(), ended: poll.ended,
                     voted: poll.voted };
  }

  /* poll.started's data or the state's poll.poll, with its counts */
  function startPoll(p, counts) {
    if (!opt.polls || !p || typeof p !== "object" ||
        typeof p.id !== "string" || typeof p.question !== "string" ||
        !Array.isArray(p.options) || p.options.length < 1) {
      return;
    }
    if (poll && poll.id === p.id) {      /* the state again, a replay */
      if (!poll.ended) setCounts(p.id, counts);
      return;
    }
    const options = p.options.map((o) => String(o));
    const endsAt = Date.parse(p.ends_at);
    const kept = keptVotes()[voteKey(p.id)];
    poll = {
      id: p.id, question: p.question, options,
      endsAt: Number.isFinite(endsAt) ? endsAt : null,
      counts: countsOf(counts, options.length) || options.map(() => 0),
      ended: false, closed: false, said: false,
      voted: Number.isInteger(kept) ? kept : null,
    };
    pollLegend.textContent = poll.question;
    pollResultsQuestion.textContent = poll.question;
    pollOptions.replaceChildren(...options.map((o, i) => {
      const b = el("button", "ls-poll-option", { type: "button", dir: "auto" });
      b.textContent = o;
      b.addEventListener("click", () => vote(i));
      return b;
    }));
    pollList.replaceChildren(...options.map(() => {
      const li = el("li", "ls-poll-row");
      const text = el("span", "ls-poll-label");
      /* decorative: the text says it all */
      const bar = el("span", "ls-poll-bar", { "aria-hidden": "true" });
      bar.append(el("span", "ls-poll-fill"));
      li.append(text, bar);
      return li;
    }));
    pollStatus.textContent = "";
    pollSaid.textContent = "";
    pollClock.textContent = "";
    pollBox.hidden = false;
    drawPoll();
    drawPanel();
    emit("poll", { poll: pollSnapshot() });
  }

  /* event: poll, {"id","counts","votes"} (no id:) */
  function setCounts(id, counts) {
    if (!poll || poll.id !== id || poll.ended) return;
    const c = countsOf(counts, poll.options.length);
    if (!c || c.every((n, i) => n === poll.counts[i])) return;
    poll.counts = c;
    drawPoll();
    emit("poll", { poll: pollSnapshot() });
  }

  /* poll.ended (say: read the final results out, once) */
  function endPoll(id, counts, say) {
    if (!poll || poll.id !== id) return;
    const c = countsOf(counts, poll.options.length);
    if (c) poll.counts = c;
    const was = poll.ended;
    poll.ended = true;
    drawPoll();
    if (say && !poll.said) {
      poll.said = true;
      pollSaid.textContent = fill(labels.pollEnded, {
        question: poll.question, results: resultsText() });
    }
    if (!was || c) emit("poll", { poll: pollSnapshot() });
  }

  function drawPoll() {
    if (!poll) {
      pollBox.hidden = true;
      drawPanel();
      return;
    }
    const results = poll.ended || poll.closed || poll.voted !== null;
    pollVote.hidden = results;
    pollResults.hidden = !results;
    pollBox.classList.toggle("ls-poll-ended", poll.ended);
    const p = percents(poll.counts);
    [...pollList.children].forEach((li, i) => {
      const n = poll.counts[i];
      const text = fill(labels.pollResult, {
        option: poll.options[i], votes: votesText(n), p: p[i] });
      const label = li.firstChild;
      if (label.textContent !== text) {
        label.replaceChildren(...fillNodes(labels.pollResult,
          { option: bdi(poll.options[i], "ls-poll-name") },
          { votes: votesText(n), p: p[i] }));
      }
      li.classList.toggle("ls-poll-mine", poll.voted === i);
      li.lastChild.firstChild.style.width = p[i] + "%";
    });
    const total = poll.counts.reduce((a, b) => a + b, 0);
    pollTotal.textContent = fill(labels.pollTotal, { votes: votesText(total) });
    tickPoll();
  }

  /* the visible countdown; a timer, never read out by itself */
  function tickPoll() {
    if (!poll || pollBox.hidden) return;
    let text;
    if (poll.ended) {
      text = labels.pollFinal;
    } else if (poll.endsAt === null) {
      text = "";
    } else {
      const left = poll.endsAt - (Date.now() + clockSkew);
      text = left > 0 ? fill(labels.pollEndsIn, { time: formatCountdown(left) })
        : labels.pollClosing;
    }
    if (pollClock.textContent !== text) pollClock.textContent = text;
  }

  async function vote(i) {
    if (!poll || poll.ended || poll.voted !== null || voting) return;
    const p = poll;
    const hadFocus = pollVote.contains(document.activeElement);
    voting = true;
    pollVote.setAttribute("aria-busy", "true");
    let res = null;
    try {
      res = await post(new URL(streamPath + "polls/" +
                               encodeURIComponent(p.id) + "/vote", apiBase),
                       { option: i, session });
    } catch (e) {
      res = null;                      /* offline, the server restarts */
    }
    voting = false;
    pollVote.removeAttribute("aria-busy");
    if (destroyed || poll !== p) return;
    const status = res ? res.r.status : 0;
    const err = res ? errorOf(res.body) : {};
    if (status === 202 || status === 200) {
      p.voted = i;
      keepVote(p.id, i);
      if (!p.ended) p.counts[i]++;     /* until the next counts come */
      tell(pollStatus, labels.pollVoted);
    } else if (status === 409 && err.code === "poll_ended") {
      p.closed = true;
      tell(pollStatus, labels.pollClosed);
    } else if (status === 409) {       /* already_voted: in another tab */
      p.voted = -1;
      keepVote(p.id, -1);
      tell(pollStatus, labels.pollAlready);
    } else if (status === 404) {
      p.closed = true;
      tell(pollStatus, labels.pollGone, true);
    } else if (status === 429) {
      tell(pollStatus, fill(labels.pollTooMany, { n: retryAfter(res.r) }),
           true);
    } else if (status === 400 && typeof err.message === "string") {
      tell(pollStatus, err.message, true);
    } else {
      tell(pollStatus, labels.pollFailed, true);
    }
    drawPoll();
    emit("poll", { poll: pollSnapshot() });
    /* the buttons went away: focus to the results, not the page's top */
    if (hadFocus && !pollResults.hidden) pollList.focus({ preventScroll: true });
  }

  /* -- the ask form */

  /* maxlength in code points (the attribute counts UTF-16 units, which
     would let only 140 emoji in) */
  function clampField(field, max) {
    if (codePoints(field.value) <= max) return;
    const caret = field.selectionEnd;
    field.value = cutCodePoints(field.value, max);
    const at = Math.min(caret === null ? field.value.length : caret,
                        field.value.length);
    try {
      field.setSelectionRange(at, at);
    } catch (e) {
      /* not focused */
    }
  }

  function drawAskCount() {
    const n = codePoints(askText.value);
    const left = QUESTION_MAX - n;
    askCount.textContent = fill(labels.askCount, { n: number(n),
                                                  max: number(QUESTION_MAX) });
    askCount.classList.toggle("ls-ask-count-low", left <= ASK_LEFT_SAY[0]);
    /* heard only when crossing 20, 10 and 0 left */
    let bucket = null;
    for (const t of ASK_LEFT_SAY) if (left <= t) bucket = t;
    if (bucket !== askBucket) {
      askBucket = bucket;
      askLeft.textContent = bucket === null ? ""
        : fill(labels.askLeft, { n: number(left) });
    }
    if (n > 0) askText.removeAttribute("aria-invalid");
  }

  function onAskInput(e) {
    if (e && e.isComposing) return;    /* an IME: at compositionend */
    clampField(askText, QUESTION_MAX);
    clampField(askName, NAME_MAX);
    askName.removeAttribute("aria-invalid");
    drawAskCount();
  }

  async function onAsk(e) {
    e.preventDefault();
    if (asking) return;
    const text = askText.value;
    const name = askName.value;
    if (text.trim() === "") {
      askText.setAttribute("aria-invalid", "true");
      tell(askStatus, labels.askEmpty, true);
      askText.focus();
      return;
    }
    asking = true;
    askSend.setAttribute("aria-disabled", "true");
    const payload = { text, session };
    if (name.trim() !== "") payload.name = name;
    let res = null;
    try {
      res = await post(questionsUrl, payload);
    } catch (err) {
      res = null;
    }
    asking = false;
    askSend.removeAttribute("aria-disabled");
    if (destroyed) return;
    const status = res ? res.r.status : 0;
    const err = res ? errorOf(res.body) : {};
    if (status === 202 || status === 200) {
      askText.value = "";
      drawAskCount();
      tell(askStatus, labels.askSent);
      emit("asked", { id: res.body && res.body.id });
    } else if (status === 429) {
      tell(askStatus, fill(labels.askTooMany, { n: retryAfter(res.r) }), true);
    } else if (status === 400) {
      const field = err.field === "name" ? askName : askText;
      field.setAttribute("aria-invalid", "true");
      tell(askStatus, typeof err.message === "string" && err.message !== ""
        ? err.message : labels.askFailed, true);
    } else if (status === 503) {
      tell(askStatus, labels.askFull, true);
    } else {
      tell(askStatus, labels.askFailed, true);
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
    if (!msg || typeof msg !== "object") return;
    if (ev.type === "audience") {        /* {"viewers":N}, no id: */
      setAudience(msg.viewers);
      return;
    }
    if (ev.type === "poll") {            /* {"id","counts","votes"}, no id: */
      setCounts(msg.id, msg.counts);
      return;
    }
    if (ev.type === "state") {
      stockOf.clear();
      for (const [id, n] of Object.entries(msg.stock || {})) stockOf.set(id, n);
      if (msg.pinned && msg.pinned.offer) {
        titles.set(msg.pinned.offer.id, msg.pinned.offer.title);
      }
      const pin = shown.offer && ranges.get(shown.offer);
      if (pin) drawStock(pin.event.data.offer);
      emit("stock", { stock: Object.fromEntries(stockOf) });
      /* a server without shows (before SPEC §14) says nothing: unknown */
      if ("show" in msg) {
        setShow(msg.show && msg.show.show ? msg.show.show : null);
      }
      if ("viewers" in msg) setAudience(msg.viewers);
      /* SPEC §15 (null: none open; absent: a server without them) */
      if ("question" in msg) {
        setQuestion(msg.question && msg.question.question);
      }
      if ("poll" in msg) {
        if (msg.poll && msg.poll.poll) {
          startPoll(msg.poll.poll, msg.poll.counts);
        } else if (poll && !poll.ended) {
          /* it ended while we were away: its poll.ended follows in the
             replay with the final counts */
          endPoll(poll.id, null, false);
        }
      }
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
    case "show.started":
      if (d.show && typeof d.show === "object") setShow(d.show);
      break;
    case "question.pinned":
      setQuestion(d);
      break;
    case "question.unpinned":
      if (!question || !d.id || question.id === String(d.id)) {
        setQuestion(null);
      }
      break;
    case "poll.started":
      startPoll(d, null);
      break;
    case "poll.ended":
      endPoll(d.id, d.counts, true);
      break;
    case "show.ended":
      /* a replayed end of an earlier show leaves the one on air */
      if (!currentShow || !d.show_id || currentShow.id === d.show_id) {
        setShow(null);
      }
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
    watchImpression();
  });

  buy.addEventListener("click", onBuy);
  buy.addEventListener("auxclick", onBuy);

  askForm.addEventListener("submit", onAsk);
  askText.addEventListener("input", onAskInput);
  askName.addEventListener("input", onAskInput);
  askText.addEventListener("compositionend", onAskInput);
  askName.addEventListener("compositionend", onAskInput);
  /* Ctrl+Enter (Cmd+Enter) in the question sends it; Enter is a line */
  askText.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {
      e.preventDefault();
      askForm.requestSubmit();
    }
  });
  drawAskCount();
  drawPanel();
  if (observer) observer.observe(card);
  const onVisibility = () => watchImpression();
  document.addEventListener("visibilitychange", onVisibility);

  const onTime = () => render();
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("seeked", onTime);
  /* the countdowns tick between timeupdates; the lobby comes and goes */
  const tick = setInterval(() => {
    render();
    updateLobby();
    tickPoll();
  }, 250);

  const Events = hls && (hls.constructor.Events ||
                         (globalThis.Hls && globalThis.Hls.Events));
  if (hls) {
    hls.on(Events.LEVEL_UPDATED, onLevel);
    hls.on(Events.LEVEL_LOADED, onLevel);
    hls.on(Events.LEVEL_LOADED, onHlsLoaded);
    hls.on(Events.ERROR, onHlsError);
    for (const level of hls.levels || []) {
      if (level.details) fromHlsDetails(level.details);
    }
    if ((hls.levels || []).some((l) => l.details)) mediaDown = false;
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
      clearTimeout(seenTimer);
      clearTimeout(lobbyPollTimer);
      clearTimeout(sayTimer);
      for (const t of statusTimers.values()) clearTimeout(t);
      if (observer) observer.disconnect();
      document.removeEventListener("visibilitychange", onVisibility);
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("seeked", onTime);
      if (hls) {
        hls.off(Events.LEVEL_UPDATED, onLevel);
        hls.off(Events.LEVEL_LOADED, onLevel);
        hls.off(Events.LEVEL_LOADED, onHlsLoaded);
        hls.off(Events.ERROR, onHlsError);
      }
      if (source) source.close();
      root.remove();
      lobby.remove();
      panel.remove();
      video.classList.remove("ls-lobby-behind");
      container.classList.remove("ls-stage", "ls-lobby-on");
    },
    /** The server time (Unix ms) of the frame on screen, or null. */
    now: playheadTime,
    /** What is shown: {offer, countdown, disclosure} range ids/text, the
        stock known, the show on air, the viewers, the lobby, the pinned
        question and the poll ({id, question, options, ends_at, counts,
        ended, voted}). */
    state() {
      return Object.assign({ stock: Object.fromEntries(stockOf) }, shown, {
        show: currentShow, viewers: audience, lobby: !lobby.hidden,
        question, poll: pollSnapshot(),
      });
    },
    /** This viewer's session id (SPEC §14). */
    session,
  };
}
