// The app shell: the wasm app mounts, shows the site chrome, talks to the
// real API, and renders the not-found page for unknown URLs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, newPage, saveScreenshot, startServer } from './harness.mjs';

const ctx = serverAndBrowser(startServer);

const HEADER_LINKS = ['Marketplace', 'Sell capacity', 'Instances', 'Sign in'];

test('the home page mounts with the site header and a live API status', async () => {
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of HEADER_LINKS) {
      await nav.getByRole('link', { name, exact: true }).waitFor({ state: 'visible' });
    }
    await page.getByRole('heading', { level: 1 }).waitFor();
    // The footer's status comes from GET /api/v1/health through the typed client.
    await page.getByText('All systems operational').waitFor();
    assert.equal(await page.title(), 'Sparecloud');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'shell-home');
    await page.context().close();
  }
});

test('an unknown URL shows the not-found page inside the site chrome', async () => {
  const page = await newPage(ctx.browser);
  try {
    const response = await page.goto(`${ctx.server.baseURL}/no/such/page`);
    assert.equal(response.status(), 200, 'deep links get the app, which routes them');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.getByText('/no/such/page').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Marketplace' }).waitFor();
    // Its way out works without a reload.
    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await page.waitForURL(`${ctx.server.baseURL}/`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'shell-not-found');
    await page.context().close();
  }
});

test('the header works on a phone-sized screen and by keyboard', async () => {
  const page = await newPage(ctx.browser, { viewport: { width: 360, height: 740 } });
  try {
    await page.goto(`${ctx.server.baseURL}/`);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    // Nothing overflows the 360 px viewport sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    // The first Tab lands on the skip link, which is then visible.
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    assert.ok(await skip.evaluate((el) => el === document.activeElement));
    const box = await skip.boundingBox();
    assert.ok(box && box.y >= 0, 'the focused skip link is on screen');
  } finally {
    await saveScreenshot(page, 'shell-phone');
    await page.context().close();
  }
});

test('unknown API paths answer problem+json, not the app', async () => {
  const res = await fetch(`${ctx.server.baseURL}/api/v1/does-not-exist`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = await res.json();
  assert.equal(body.status, 404);
});
