// A crowd of viewers for the audience test: one headless Chromium (Debian's,
// through playwright-core, never a downloaded one) with N browser contexts,
// each its own viewer (its own sessionStorage, so its own session id), each
// opening the player page. Driven over stdio like player.mjs: one JSON
// command a line, one JSON answer a line.
//
// Commands: {"cmd":"open","url":U,"n":N}   N viewers open U
//           {"cmd":"playing"}   how many of them play (video time moving)
//           {"cmd":"sessions"}  the session id of each (sessionStorage)
//           {"cmd":"errors"}    page errors so far
//           {"cmd":"close"}
//
// Env: LIVESHOP_WEB_DEPS (holding node_modules/playwright-core),
//      LIVESHOP_CHROMIUM (default /usr/bin/chromium).
import { chromiumFor, launch, serve } from "./driver.mjs";

const chromium = chromiumFor("crowd.mjs");

let browser = null;
const pages = [];
const errors = [];

async function open(url, n) {
  browser = await launch(chromium, ["--mute-audio"]);
  // a few at a time: a page's start costs more than its playing
  const one = async () => {
    const ctx = await browser.newContext({
      viewport: { width: 400, height: 300 }, locale: "en-US" });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => {
      if (errors.length < 200) errors.push(String(e));
    });
    // a busy machine: the pages before it already play
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 180000 });
    pages.push(page);
  };
  for (let i = 0; i < n; i += 5) {
    await Promise.all(Array.from({ length: Math.min(5, n - i) }, one));
  }
  return pages.length;
}

// A page plays when its video's time moves over half a second.
async function playing() {
  const before = await Promise.all(pages.map((p) => p.evaluate(
    () => (document.querySelector("video") || {}).currentTime || 0)));
  await new Promise((r) => setTimeout(r, 700));
  const after = await Promise.all(pages.map((p) => p.evaluate(
    () => (document.querySelector("video") || {}).currentTime || 0)));
  return after.filter((t, i) => t > before[i]).length;
}

async function run(c) {
  switch (c.cmd) {
  case "open":
    return await open(c.url, c.n);
  case "playing":
    return await playing();
  case "sessions":
    return await Promise.all(pages.map((p) => p.evaluate(() => {
      for (let i = 0; i < sessionStorage.length; i++) {
        const k = sessionStorage.key(i);
        const v = sessionStorage.getItem(k);
        if (/session/i.test(k) && /^[A-Za-z0-9_-]{16,32}$/.test(v)) {
          return v;
        }
      }
      return null;
    })));
  case "errors":
    return errors;
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
