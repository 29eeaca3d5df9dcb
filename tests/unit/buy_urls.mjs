// The player's buyUrl (web/liveshop-player.js) against the table the
// core's lshop_buy_url passes too (tests/data/buy_urls.json, SPEC §16).
// Usage: node buy_urls.mjs PLAYER_JS TABLE_JSON
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [playerJs, table] = process.argv.slice(2);
const { buyUrl } = await import(pathToFileURL(playerJs).href);
const { cases } = JSON.parse(readFileSync(table, "utf8"));
let failed = 0;
if (cases.length < 20) {
  console.error(`only ${cases.length} cases in ${table}`);
  failed++;
}
for (const c of cases) {
  const got = buyUrl(c.url, c.stream, c.source, c.checkout);
  if (got !== c.buy) {
    console.error(`FAIL ${c.name}: gave ${JSON.stringify(got)}, ` +
                  `wanted ${JSON.stringify(c.buy)}`);
    failed++;
  }
}
console.log(`${cases.length - failed} of ${cases.length} buy URL cases agree`);
process.exit(failed ? 1 : 0);
