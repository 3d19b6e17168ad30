// Two builds of the web app compared on the time budgets' two measures
// (first offer on /marketplace, the checkout's first image choice), their
// loads interleaved so that this shared machine's drift falls on both:
// three rounds each, eight fresh loads of each page per round, cache
// disabled, the release server with the demo market. Run by
// `bench/budgets.sh compare DIST_A DIST_B`, where each is a copy of dist/
// made after a `make build`; dist/ itself is put back at the end.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiRequest, launchBrowser, startDemoMarket } from '../e2e/harness.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const builds = process.argv.slice(2).map((dir) => resolve(dir));
if (builds.length !== 2) {
  console.error('usage: bench/budgets.sh compare DIST_A DIST_B');
  process.exit(2);
}

// Milliseconds from navigation until an element matching `selector` is
// added, noted in the page (nothing of Playwright's runs there meanwhile).
async function shownAt(browser, url, selector) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.addInitScript((selector) => {
      window.__shownAt = new Promise((resolve) => new MutationObserver((_, observer) => {
        if (document.querySelector(selector)) {
          resolve(performance.now());
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true }));
    }, selector);
    await page.goto(url, { waitUntil: 'commit' });
    return await page.evaluate(() => Promise.race([
      window.__shownAt,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not shown within 30 s')), 30_000)),
    ]));
  } finally {
    await context.close();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const saved = join(mkdtempSync(join(tmpdir(), 'sparecloud-dist-')), 'dist');
cpSync(join(ROOT, 'dist'), saved, { recursive: true });
const times = builds.map(() => ({ marketplace: [], checkout: [] }));
try {
  for (let round = 0; round < 6; round++) {
    const which = round % 2;
    rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
    cpSync(builds[which], join(ROOT, 'dist'), { recursive: true });
    const server = await startDemoMarket();
    const browser = await launchBrowser();
    try {
      const base = server.baseURL;
      const offerId = (await apiRequest(base, 'GET', '/offers?per_page=1')).items[0].id;
      await shownAt(browser, `${base}/marketplace`, 'a[href*="/offers/"]'); // warm the server
      for (let i = 0; i < 8; i++) {
        times[which].marketplace.push(await shownAt(browser, `${base}/marketplace`, 'a[href*="/offers/"]'));
        times[which].checkout.push(await shownAt(browser, `${base}/checkout/${offerId}`, 'input[type=radio]'));
      }
    } finally {
      await browser.close();
      await server.stop();
    }
  }
} finally {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  cpSync(saved, join(ROOT, 'dist'), { recursive: true });
  rmSync(resolve(saved, '..'), { recursive: true, force: true });
}
builds.forEach((dir, i) => {
  const { marketplace, checkout } = times[i];
  console.log(`${dir}: first offer median ${median(marketplace).toFixed(0)} ms, checkout first step median ${median(checkout).toFixed(0)} ms (${marketplace.length} loads each)`);
});
