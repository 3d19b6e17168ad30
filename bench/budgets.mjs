// The web app's budgets (issue 17), measured, not asserted, on the release
// app as `make run` serves it (the release server, the demo marketplace):
//   1. the marketplace's initial payload: every wasm, js and css byte
//      Chromium downloads, as our server encoded it, before the first offer
//      is visible on /marketplace (cache disabled);
//   2. every route's initial payload the same way (until the network is
//      idle), and the whole app: every wasm, js and css file of dist/ in its
//      gzip copy, added up;
//   3. time from navigation start to the first offer visible, and to the
//      checkout's first step, median of 10 fresh loads on loopback.
// Bytes come from Chromium's own network accounting (CDP
// Network.loadingFinished's encodedDataLength: body and headers as they
// came over the wire). Run through bench/budgets.sh, which builds first.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, apiRequest, launchBrowser, startDemoMarket } from '../e2e/harness.mjs';

const KiB = 1024;
const kib = (bytes) => `${(bytes / KiB).toFixed(1)} KiB`;
const ASSET = /\.(wasm|js|css)(\?|$)/;

/** A fresh page with the cache disabled whose asset bytes are counted. */
async function countedPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const urls = new Map();
  const assets = { bytes: 0, files: [] };
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId) ?? '';
    if (ASSET.test(new URL(url, 'http://x').pathname)) {
      assets.bytes += e.encodedDataLength;
      assets.files.push(`${url.split('/').pop()} ${kib(e.encodedDataLength)}`);
    }
  });
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  return { context, page, assets };
}

/**
 * Goes to `url` and returns the milliseconds from navigation start (the
 * page's own clock) until an element with this role and accessible name was
 * shown, as recorded in the page by a MutationObserver at the DOM change
 * that added it: Playwright's own polling would add up to a hundred
 * milliseconds. Nothing of Playwright's runs in the page while it loads:
 * its locators inject a script of their own (about 40 ms of parsing here,
 * which fell in the middle of the app's rendering), so they are used only
 * once the time is taken.
 */
async function shownAt(page, url, role, name) {
  await page.addInitScript(({ role, source }) => {
    const name = new RegExp(source);
    const shown = () => {
      const candidates = role === 'link'
        ? document.querySelectorAll('a[href]')
        : document.querySelectorAll(`input[type=${role}]`);
      for (const el of candidates) {
        const label = role === 'link' ? el : el.closest('label');
        if (label && name.test(label.textContent.trim()) && el.checkVisibility()) return true;
      }
      return false;
    };
    window.__shownAt = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (shown()) {
          resolve(performance.now());
          observer.disconnect();
        }
      });
      observer.observe(document, { childList: true, subtree: true });
    });
  }, { role, source: name.source });
  await page.goto(url, { waitUntil: 'commit' });
  const at = await page.evaluate(() => Promise.race([
    window.__shownAt,
    new Promise((_, reject) => setTimeout(() => reject(new Error('not shown within 30 s')), 30_000)),
  ]));
  // The same element, found the accessible way: the in-page check above
  // must have looked at what a user sees.
  await page.getByRole(role, { name }).first().waitFor({ state: 'visible' });
  return at;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// The whole app: dist/'s gzip copies of its wasm, js and css.
let wholeApp = 0;
function gzipCopies(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) gzipCopies(path);
    else if (/\.(wasm|js|css)\.gz$/.test(name)) wholeApp += statSync(path).size;
  }
}
gzipCopies(join(ROOT, 'dist'));

const server = await startDemoMarket();
const browser = await launchBrowser();
const lines = [];
try {
  const base = server.baseURL;
  const offers = await apiRequest(base, 'GET', '/offers?per_page=1');
  const offerId = offers.items[0].id;

  // 1 and 3: the marketplace, ten fresh loads.
  const marketBytes = [];
  const marketTimes = [];
  let marketFiles = [];
  for (let i = 0; i < 10; i++) {
    const { context, page, assets } = await countedPage(browser);
    marketTimes.push(await shownAt(page, `${base}/marketplace`, 'link', /^View offer$/));
    marketBytes.push(assets.bytes);
    marketFiles = assets.files;
    await context.close();
  }
  // The checkout's first step (its image choices), ten fresh loads.
  const checkoutTimes = [];
  for (let i = 0; i < 10; i++) {
    const { context, page } = await countedPage(browser);
    checkoutTimes.push(await shownAt(page, `${base}/checkout/${offerId}`, 'radio', /Debian 12/));
    await context.close();
  }

  // 2: every route, until the network is idle.
  const routes = [
    '/', '/marketplace', `/offers/${offerId}`, `/checkout/${offerId}`, '/sign-in', '/sign-up',
    '/instances', '/account', '/invoices', '/sell', '/sell/start', '/seller',
    '/embed/acme/marketplace',
  ];
  const routeBytes = [];
  for (const route of routes) {
    const { context, page, assets } = await countedPage(browser);
    await page.goto(`${base}${route}`, { waitUntil: 'networkidle' });
    routeBytes.push([route.replace(offerId, ':id'), assets.bytes]);
    await context.close();
  }

  const market = median(marketBytes);
  const [heaviestRoute, heaviest] = routeBytes.reduce((a, b) => (b[1] > a[1] ? b : a));
  lines.push(
    `1. marketplace initial payload: ${kib(market)} on the wire (budget 200 KiB) [${marketFiles.join(', ')}]`,
    `2. heaviest route: ${heaviestRoute} ${kib(heaviest)} (budget 300 KiB); whole app ${kib(wholeApp)} gzip (budget 400 KiB)`,
    ...routeBytes.map(([route, bytes]) => `     ${route.padEnd(28)} ${kib(bytes)}`),
    `3. first offer visible: median ${median(marketTimes).toFixed(0)} ms (budget 250 ms); all: ${marketTimes.map((t) => t.toFixed(0)).join(', ')}`,
    `   checkout first step visible: median ${median(checkoutTimes).toFixed(0)} ms (budget 250 ms); all: ${checkoutTimes.map((t) => t.toFixed(0)).join(', ')}`,
  );
} finally {
  await browser.close();
  await server.stop();
}
console.log(lines.join('\n'));
