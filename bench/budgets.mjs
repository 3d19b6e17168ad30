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
import { countedPage, kib, median, shownAt } from './page_timing.mjs';

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
