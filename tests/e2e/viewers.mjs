// Many viewers' pages in one headless Chromium (Debian's, through
// playwright-core, never a downloaded one) for the questions and polls
// tests: each page in its own browser context (its own sessionStorage, so
// its own session, and its own pool of connections: Chromium opens at most
// 6 per host and context, and every page holds one for its event stream).
// Driven over stdio like player.mjs: one JSON command a line, one JSON
// answer a line ({"ok":true,"value":...} or {"ok":false,"error":"..."}).
//
// Commands (PAGE: a page's number from open; "all": every page, the
// value then a list in page order):
//   {"cmd":"open","url":U,"n":N,"width":W,"height":H,"batch":B}
//          N more pages open U, B at a time; their numbers
//   {"cmd":"eval","page":PAGE,"js":EXPR}         value of an expression
//   {"cmd":"wait","page":PAGE,"js":EXPR,"ms":MS} until EXPR is truthy
//   {"cmd":"fill","page":P,"selector":S,"value":V}   as if typed at once
//   {"cmd":"type","page":P,"text":T}     keys into the focused element
//   {"cmd":"press","page":P,"key":K}     the focused element's class after
//   {"cmd":"click","page":PAGE,"selector":S,"nth":I,"batch":B}
//          a mouse click on the I-th match of S ("all": B pages at once)
//   {"cmd":"arm","selector":S,"nths":[I0,...],"from":F,"to":T,"ms":MS}
//          pages F..T-1 (without T: to the last) each click the nths[k]-th
//          match of S (the element's click()) by themselves as soon as it
//          is visible (looked for whenever the page changes, for MS):
//          armed before what shows it, a crowd's clicks wait for no round
//          trip
//   {"cmd":"armed","from":F,"to":T}  {missed: [pages that did not click],
//          last: the latest click (ms since the epoch, the page's clock)}
//   {"cmd":"reload","page":P}
//   {"cmd":"viewport","page":P,"width":W,"height":H}
//   {"cmd":"requests","page":PAGE,"match":S}
//          [{url, method, body, at (ms since the epoch), status}]
//   {"cmd":"log"}     [{page, dialogs, errors}] of pages that had any
//   {"cmd":"screenshot","page":P,"path":F}
//   {"cmd":"close"}
//
// Env: LIVESHOP_WEB_DEPS (the dir holding node_modules/playwright-core),
//      LIVESHOP_CHROMIUM (default /usr/bin/chromium).
import { chromiumFor, launch as launchChromium, serve } from "./driver.mjs";

const chromium = chromiumFor("viewers.mjs");

let browser = null;
const pages = [];       // {page, dialogs, errors, requests}

async function launch() {
  if (browser) return;
  browser = await launchChromium(chromium, ["--mute-audio",
           // many pages on a small machine: none of them is throttled
           "--disable-background-timer-throttling",
           "--disable-renderer-backgrounding",
           "--disable-backgrounding-occluded-windows"]);
}

async function openOne(url, c) {
  const ctx = await browser.newContext({
    viewport: { width: c.width || 1000, height: c.height || 800 },
    // the player's transitions off (prefers-reduced-motion, which it
    // honours): a poll's bars moving in 200 pages at every count kept two
    // cores so busy that 200 votes took 20 s to leave the browser
    reducedMotion: "reduce",
    locale: "en-US" });
  const page = await ctx.newPage();
  const p = { page, dialogs: [], errors: [], requests: [] };
  page.on("dialog", async (d) => {
    p.dialogs.push(d.type() + ": " + d.message());
    await d.dismiss().catch(() => {});
  });
  page.on("pageerror", (e) => {
    if (p.errors.length < 50) p.errors.push(String(e));
  });
  page.on("request", (r) => {
    if (r.resourceType() !== "fetch" || p.requests.length >= 2000) return;
    const entry = { url: r.url(), method: r.method(), body: r.postData(),
                    at: Date.now(), status: null };
    p.requests.push(entry);
    r.response().then((resp) => {
      if (resp) entry.status = resp.status();
    }, () => {});
  });
  await page.goto(url, { waitUntil: "load", timeout: 180000 });
  return p;
}

async function open(c) {
  await launch();
  const first = pages.length;
  const batch = c.batch || 5;
  for (let i = 0; i < c.n; i += batch) {
    const got = await Promise.all(Array.from(
      { length: Math.min(batch, c.n - i) }, () => openOne(c.url, c)));
    pages.push(...got);
  }
  return Array.from({ length: c.n }, (_, i) => first + i);
}

function one(n) {
  const p = pages[n];
  if (!p) throw new Error("no page " + n);
  return p;
}

/* f on one page, or on every page ("all"), b at a time */
async function each(which, f, b) {
  if (which !== "all") return await f(one(which), which);
  const out = [];
  const batch = b || pages.length;
  for (let i = 0; i < pages.length; i += batch) {
    out.push(...await Promise.all(pages.slice(i, i + batch)
      .map((p, k) => f(p, i + k))));
  }
  return out;
}

/* page k is in the range of an arm or armed command */
function armed(c, k) {
  return k >= (c.from || 0) && (c.to === undefined || k < c.to);
}

async function run(c) {
  switch (c.cmd) {
  case "open":
    return await open(c);
  case "eval":
    return await each(c.page, (p) => p.page.evaluate(c.js), c.batch);
  case "wait":
    return await each(c.page, async (p) => {
      const h = await p.page.waitForFunction(c.js, null,
        { timeout: c.ms || 10000, polling: c.polling || 100 });
      return await h.jsonValue();
    }, c.batch);
  case "fill":
    await one(c.page).page.fill(c.selector, c.value, { timeout: 5000 });
    return null;
  case "type":
    await one(c.page).page.keyboard.type(c.text);
    return null;
  case "press": {
    const { page } = one(c.page);
    await page.keyboard.press(c.key);
    return await page.evaluate(
      "document.activeElement ? document.activeElement.className : ''");
  }
  case "click":
    return await each(c.page, async (p) => {
      await p.page.locator(c.selector).nth(c.nth || 0)
        .click({ timeout: c.ms || 10000 });
      return null;
    }, c.batch || 10);
  case "arm":
    await each("all", async (p, k) => {
      if (!armed(c, k)) return null;
      await p.page.evaluate(([sel, n, ms]) => {
        window.__liveshopArmed = new Promise((ok) => {
          // looked for when the page changes, not on a timer: two hundred
          // pages polling every 50 ms kept two cores busy while the poll
          // they waited for was being drawn
          let timer = null;
          const seen = new MutationObserver(() => look());
          const done = (v) => {
            seen.disconnect();
            clearTimeout(timer);
            ok(v);
          };
          const look = () => {
            const e = document.querySelectorAll(sel)[n];
            if (e && e.checkVisibility()) {
              e.click();
              done(Date.now());
            }
          };
          seen.observe(document.body, { childList: true, subtree: true,
                                        attributes: true });
          timer = setTimeout(() => done(null), ms);
          look();
        });
      }, [c.selector, c.nths[k], c.ms || 15000]);
      return null;
    }, 50);
    return null;
  case "armed": {
    const at = await each("all", (p, k) => !armed(c, k) ? 0
      : p.page.evaluate("window.__liveshopArmed"), 50);
    return { missed: at.map((t, k) => t === null ? k : -1)
                        .filter((k) => k >= 0),
             last: Math.max(...at) };
  }
  case "reload":
    await one(c.page).page.reload({ waitUntil: "load" });
    return null;
  case "viewport":
    await one(c.page).page.setViewportSize({ width: c.width,
                                             height: c.height });
    return null;
  case "requests":
    return await each(c.page, async (p) => p.requests.filter(
      (r) => !c.match || r.url.includes(c.match)));
  case "log":
    return pages.map((p, i) => ({ page: i, dialogs: p.dialogs,
                                  errors: p.errors }))
      .filter((x) => x.dialogs.length || x.errors.length);
  case "screenshot":
    await one(c.page).page.screenshot({ path: c.path, fullPage: true });
    return c.path;
  case "close":
    if (browser) await browser.close();
    browser = null;
    return null;
  default:
    throw new Error("unknown command " + c.cmd);
  }
}

await serve(run, async () => {
  if (browser) await browser.close();
});
