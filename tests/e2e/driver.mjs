// What the browser drivers (player.mjs, crowd.mjs, viewers.mjs) share:
// Debian's Chromium through playwright-core from the build tree (never a
// downloaded browser), and the line protocol they are driven with — one
// JSON command a line on stdin, one JSON answer a line on stdout,
// {"ok":true,"value":V} or {"ok":false,"error":E}.
//
// Env: LIVESHOP_WEB_DEPS (the dir holding node_modules/playwright-core),
//      LIVESHOP_CHROMIUM (default /usr/bin/chromium).
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";

// playwright-core's chromium, or exit 2 naming the driver when the web
// dependencies are not set
export function chromiumFor(driver) {
  const deps = process.env.LIVESHOP_WEB_DEPS;
  if (!deps) {
    console.error(driver + ": set LIVESHOP_WEB_DEPS");
    process.exit(2);
  }
  const require = createRequire(path.join(deps, "node_modules", "x.js"));
  return require("playwright-core").chromium;
}

// Launches headless Chromium with the flags every driver needs, and more.
export function launch(chromium, args = []) {
  return chromium.launch({
    executablePath: process.env.LIVESHOP_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--autoplay-policy=no-user-gesture-required",
           "--disable-gpu", "--disable-dev-shm-usage", ...args],
  });
}

// Answers each command line with run(command), in order; at the end of
// stdin, finish() (closing the browser).
export async function serve(run, finish) {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let out;
    try {
      const value = await run(JSON.parse(line));
      out = { ok: true, value: value === undefined ? null : value };
    } catch (e) {
      out = { ok: false, error: String(e && e.stack || e) };
    }
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  await finish();
}
