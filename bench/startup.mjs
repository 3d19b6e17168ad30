// Where a fresh load's time goes (issue 17's time budgets), three loads per
// path of the release app with the demo market, cache disabled: when each
// file and API call was requested and answered (Resource Timing), when the
// page called fetch and instantiated the wasm, its long tasks (the main
// thread busy 50 ms or more), and when the first "View offer" link or image
// choice showed. Run by `bench/budgets.sh startup`, which builds first.
//   STARTUP_PATHS  comma-separated paths (default /marketplace,/checkout/:id)
//   STARTUP_JS_FLAGS  V8 flags for Chromium, e.g. --no-wasm-lazy-compilation
import { apiRequest, launchBrowser, startDemoMarket } from '../e2e/harness.mjs';

const jsFlags = process.env.STARTUP_JS_FLAGS;
const server = await startDemoMarket();
const browser = await launchBrowser(jsFlags ? [`--js-flags=${jsFlags}`] : []);
try {
  const offerId = (await apiRequest(server.baseURL, 'GET', '/offers?per_page=1')).items[0].id;
  for (const path of (process.env.STARTUP_PATHS ?? '/marketplace,/checkout/:id').split(',')) {
    for (let i = 1; i <= 3; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.addInitScript(() => {
        const log = (window.__startup = []);
        const note = (what) => log.push([performance.now(), what]);
        const streaming = WebAssembly.instantiateStreaming;
        WebAssembly.instantiateStreaming = async (...args) => {
          note('wasm instantiate starts');
          const instance = await streaming(...args);
          note('wasm instantiated');
          return instance;
        };
        const fetch = window.fetch;
        window.fetch = (...args) => {
          note(`fetch(${new URL(String(args[0].url ?? args[0]), location.href).pathname})`);
          return fetch(...args);
        };
        new PerformanceObserver((list) => list.getEntries().forEach((e) => {
          log.push([e.startTime, `long task of ${e.duration.toFixed(0)} ms`]);
        })).observe({ type: 'longtask', buffered: true });
        window.__shown = new Promise((resolve) => {
          new MutationObserver((_, observer) => {
            if (document.querySelector('a[href*="/offers/"], input[type=radio]')) {
              note('first offer or image choice shown');
              observer.disconnect();
              resolve();
            }
          }).observe(document, { childList: true, subtree: true });
        });
      });
      // Waited for in the page, as in budgets.mjs: a Playwright locator or
      // waitForFunction would inject its own script during the load.
      await page.goto(server.baseURL + path.replace(':id', offerId), { waitUntil: 'commit' });
      await page.evaluate(() => Promise.race([
        window.__shown,
        new Promise((_, reject) => setTimeout(() => reject(new Error('not shown within 30 s')), 30_000)),
      ]));
      await page.waitForTimeout(300);
      const events = await page.evaluate(() => [
        ...performance.getEntriesByType('resource').flatMap((e) => [
          [e.startTime, `requested ${new URL(e.name).pathname}`],
          [e.responseEnd, `received ${new URL(e.name).pathname} (${e.encodedBodySize} B)`],
        ]),
        ...window.__startup,
      ]);
      console.log(`${path} load ${i}${jsFlags ? ` (${jsFlags})` : ''}`);
      for (const [at, what] of events.sort((a, b) => a[0] - b[0])) {
        console.log(`  ${at.toFixed(0).padStart(5)} ms  ${what}`);
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
