// How the benches load a page and time it (bench/budgets.mjs,
// bench/compare.mjs): a fresh page with the cache disabled whose asset
// bytes are counted, the time until an element is shown, noted in the page,
// and a median.

const KiB = 1024;
export const kib = (bytes) => `${(bytes / KiB).toFixed(1)} KiB`;
const ASSET = /\.(wasm|js|css)(\?|$)/;

/** A fresh page with the cache disabled whose asset bytes are counted. */
export async function countedPage(browser) {
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
export async function shownAt(page, url, role, name) {
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

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
};
