// A headless Chromium for the e2e tests, driven line by line over stdio:
// each stdin line is one JSON command, each answer one JSON line on
// stdout ({"ok":true,"value":...} or {"ok":false,"error":"..."}).
//
// Debian's /usr/bin/chromium through playwright-core; playwright never
// downloads a browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, executablePath).
//
// Commands: {"cmd":"open","url":U,"width":W,"height":H}
//           {"cmd":"eval","js":EXPR}            value of an expression
//           {"cmd":"wait","js":EXPR,"ms":MS} until EXPR is truthy
//           {"cmd":"press","key":"Tab"}  the focused element's class after
//           {"cmd":"click","selector":S}  a mouse click on S
//           {"cmd":"viewport","width":W,"height":H}
//           {"cmd":"media","reducedMotion":"reduce"|"no-preference"}
//           {"cmd":"requests","match":S}  the page's requests whose URL
//                  holds S: [{url, method, type, body, status}] (status
//                  null: not answered yet or failed)
//           {"cmd":"popups"}    URLs of the tabs the page opened (loaded)
//           {"cmd":"aria","selector":S}  S's accessibility tree as
//                  playwright computes it (roles, names; YAML)
//           {"cmd":"screenshot","path":P}
//           {"cmd":"log"}       dialogs, page errors and console lines so far
//           {"cmd":"close"}
//
// Env: LIVESHOP_WEB_DEPS (the dir holding node_modules/playwright-core),
//      LIVESHOP_CHROMIUM (default /usr/bin/chromium).
import { chromiumFor, launch, serve } from "./driver.mjs";

const chromium = chromiumFor("player.mjs");

const log = { dialogs: [], errors: [], console: [] };
const requests = [];
const popups = [];
let browser = null;
let page = null;

async function run(c) {
  switch (c.cmd) {
  case "open": {
    browser = await launch(chromium);
    const ctx = await browser.newContext({
      viewport: { width: c.width || 1280, height: c.height || 720 },
      locale: "en-US",
    });
    // a buy link opens the shop in a new tab: answered here, no network
    await ctx.route(/^https:\/\/shop\.example\//, (r) => r.fulfill({
      status: 200, contentType: "text/html",
      body: "<!doctype html><title>shop</title>" }));
    page = await ctx.newPage();
    page.on("popup", (p) => {
      p.waitForLoadState("load").then(() => popups.push(p.url()),
                                        () => popups.push(p.url()));
    });
    page.on("request", (r) => {
      if (requests.length >= 20000) return;
      const entry = { url: r.url(), method: r.method(),
                      type: r.resourceType(), body: r.postData(),
                      status: null };
      requests.push(entry);
      r.response().then((resp) => {
        if (resp) entry.status = resp.status();
      }, () => {});
    });
    page.on("dialog", async (d) => {
      log.dialogs.push(d.type() + ": " + d.message());
      await d.dismiss().catch(() => {});
    });
    page.on("pageerror", (e) => log.errors.push(String(e)));
    page.on("console", (m) => {
      if (log.console.length < 500) {
        log.console.push(m.type() + ": " + m.text());
      }
    });
    await page.goto(c.url, { waitUntil: "load" });
    return null;
  }
  case "eval":
    return await page.evaluate(c.js);
  case "wait": {
    const h = await page.waitForFunction(c.js, null,
      { timeout: c.ms || 10000, polling: c.polling || 50 });
    return await h.jsonValue();
  }
  case "press":
    await page.keyboard.press(c.key);
    return await page.evaluate(
      "document.activeElement ? document.activeElement.className : ''");
  case "click":
    await page.click(c.selector, { timeout: c.ms || 5000 });
    return null;
  case "viewport":
    await page.setViewportSize({ width: c.width, height: c.height });
    return null;
  case "media":
    await page.emulateMedia({ reducedMotion: c.reducedMotion });
    return null;
  case "requests":
    return requests.filter((r) => !c.match || r.url.includes(c.match));
  case "popups":
    return popups;
  case "aria":
    return await page.locator(c.selector).ariaSnapshot({ timeout: 5000 });
  case "screenshot":
    await page.screenshot({ path: c.path, fullPage: true });
    return c.path;
  case "log":
    return log;
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
