// The web app's budgets (issue: the buyer's web app), measured, not asserted:
//   - size: the whole release app (wasm + js + css, every route), gzip -9;
//   - speed: navigation to /marketplace until the first offer is visible, in
//     headless Chromium on loopback with the demo data, median of 10 loads
//     (each in a fresh browser context, so nothing is cached).
// Run through bench/budgets.sh, which builds what it needs.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, launchBrowser, startDemoMarket } from '../e2e/harness.mjs';

const dist = join(ROOT, 'dist');
let total = 0;
for (const name of readdirSync(dist).filter((n) => /\.(wasm|js|css)$/.test(n))) {
  const gz = gzipSync(readFileSync(join(dist, name)), { level: 9 }).length;
  total += gz;
  console.log(`${name.padEnd(48)} ${(gz / 1024).toFixed(1).padStart(7)} KB gzip`);
}
console.log(`${'whole app'.padEnd(48)} ${(total / 1024).toFixed(1).padStart(7)} KB gzip (budget 150 KB)`);

const server = await startDemoMarket();
const browser = await launchBrowser();
try {
  const times = [];
  for (let i = 0; i < 10; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.baseURL}/marketplace`);
    await page.locator('section article').first().waitFor({ state: 'visible' });
    // Milliseconds since the navigation started, by the page's own clock.
    times.push(await page.evaluate(() => performance.now()));
    await context.close();
  }
  times.sort((a, b) => a - b);
  const median = (times[4] + times[5]) / 2;
  console.log(`offers visible after navigation: median ${median.toFixed(0)} ms (budget 300 ms); all: ${times.map((t) => t.toFixed(0)).join(', ')}`);
} finally {
  await browser.close();
  await server.stop();
}
