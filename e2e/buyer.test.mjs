// The buyer's side of the web app against the real server with the demo
// marketplace (three sellers whose simulated agents run as real processes):
// accounts, the marketplace's filters in the URL and in the controls, and
// an offer's page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_BUYER, serverAndBrowser, newPage, saveScreenshot, startDemoMarket } from './harness.mjs';

const ctx = serverAndBrowser(startDemoMarket);

/** The sellers named on the offer cards, in order, once loaded. */
async function sellers(page) {
  const results = page.getByRole('region', { name: 'Offers' });
  await page.locator('section[aria-label="Offers"][aria-busy="false"]').waitFor();
  await results.getByRole('article').first().waitFor();
  return results.getByRole('article').getByRole('heading').allInnerTexts();
}

test('sign up, sign out, sign in with inline errors, and the session survives a reload', async () => {
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/sign-up`);
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    // Inline validation before anything is sent.
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText('Enter your email address').waitFor();
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${ctx.server.baseURL}/marketplace`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByText('Grace Hopper').waitFor();

    // The same email again is refused by the server, next to the field.
    await nav.getByRole('button', { name: 'Sign out' }).click();
    await nav.getByRole('link', { name: 'Sign in' }).waitFor();
    await page.goto(`${ctx.server.baseURL}/sign-up`);
    await page.getByLabel('Your name').fill('Another Grace');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.locator('#email-error').waitFor();

    // A wrong password is a clear message; the right one signs in and
    // returns to where the visitor was going.
    await page.goto(`${ctx.server.baseURL}/sign-in?next=/offers/nothing-here`);
    await page.getByLabel('Email').fill(DEMO_BUYER.email);
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(DEMO_BUYER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${ctx.server.baseURL}/offers/nothing-here`);
    await page.reload();
    await nav.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'buyer-accounts');
    await page.context().close();
  }
});

test('signing in never leads to another site, however `next` is spelled', async () => {
  const page = await newPage(ctx.browser);
  try {
    // A tab inside the path is dropped by URL parsing: `/<tab>/evil` would
    // be `//evil`, another host.
    for (const next of ['/%09/evil.example', '//evil.example', '/%5Cevil.example', 'https://evil.example']) {
      await page.goto(`${ctx.server.baseURL}/sign-in?next=${next}`);
      await page.getByLabel('Email').fill(DEMO_BUYER.email);
      await page.getByLabel('Password').fill(DEMO_BUYER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Home, the marketplace, rather than anywhere `next` pointed.
      await page.waitForURL(`${ctx.server.baseURL}/marketplace`);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' }).waitFor();
    }
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await page.context().close();
  }
});

test('the marketplace filters by URL and by its controls, and Back restores the view', async () => {
  const page = await newPage(ctx.browser);
  try {
    // A copied link shows the same view: the zone is set in the controls.
    await page.goto(`${ctx.server.baseURL}/marketplace?zone=eu-west-1a`);
    assert.deepEqual(await sellers(page), ['Atlantic Racks']);
    assert.equal(await page.getByLabel('Zone').inputValue(), 'eu-west-1a');

    // Controls write the URL.
    await page.goto(`${ctx.server.baseURL}/marketplace`);
    assert.equal((await sellers(page)).length, 3);
    await page.getByLabel('Service level').selectOption('gold');
    await page.waitForURL(/sla=gold/);
    await page.getByText('1 offer', { exact: true }).waitFor();
    assert.deepEqual(await sellers(page), ['Nordlicht Hosting']);

    // Sorting by price, high to low, orders the cards.
    await page.getByLabel('Service level').selectOption('');
    await page.getByText('3 offers').waitFor();
    await page.getByLabel('Sort by').selectOption('price_desc');
    await page.waitForURL(/sort=price_desc/);
    await page.waitForFunction(() => document.querySelector('section article h2')?.textContent === 'Nordlicht Hosting');
    assert.deepEqual(await sellers(page), ['Nordlicht Hosting', 'Atlantic Racks', 'Prairie Compute']);

    // A price no one meets: the empty state suggests loosening a filter.
    await page.getByLabel('Max price per hour (EUR)').fill('0.01');
    await page.getByLabel('Max price per hour (EUR)').press('Enter');
    await page.getByRole('heading', { name: 'No offers match' }).waitFor();
    await page.getByRole('link', { name: 'Clear all filters' }).waitFor();

    // Back walks the history of views.
    await page.goBack();
    await page.waitForURL(/sort=price_desc$/);
    assert.equal((await sellers(page)).length, 3);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'buyer-marketplace');
    await page.context().close();
  }
});

test("an offer's page shows its service level, credits and sizes", async () => {
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/marketplace?sla=gold`);
    await page.getByRole('link', { name: 'Nordlicht Hosting' }).click();
    await page.getByRole('heading', { level: 1, name: 'Nordlicht Hosting' }).waitFor();
    await page.getByText('99.9 %').first().waitFor();
    const sizes = page.getByRole('table').first();
    await sizes.getByRole('rowheader', { name: 's1.small' }).waitFor();
    await page.getByRole('heading', { name: 'Service credits' }).waitFor();
    assert.ok((await page.getByRole('table').nth(1).getByRole('row').count()) > 1, 'credit schedule rows');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'buyer-offer');
    await page.context().close();
  }
});

test('the marketplace, an offer and the checkout use the API answers the server preloads with the page', async (t) => {
  const page = await newPage(ctx.browser);
  // The page's API requests, each with what started it: `link` for a
  // preload (the server's Link header), `fetch` for one the app made itself.
  const requests = () => page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => [new URL(e.name).pathname, e.initiatorType])
    .filter(([path]) => path.startsWith('/api/v1/')));
  // Fetched once, by the preload: the app's own request used its answer.
  const preloadedOnce = (list, path) => assert.deepEqual(list.filter(([p]) => p === path), [[path, 'link']], path);
  // Frames painted while the offers' loading skeleton was in the page, and
  // when the app started (the wasm's instantiation).
  await page.addInitScript(() => {
    window.__skeletonFrames = 0;
    WebAssembly.instantiateStreaming = ((instantiate) => (...args) => {
      window.__appStart ??= performance.now();
      return instantiate(...args);
    })(WebAssembly.instantiateStreaming);
    const frame = () => {
      if (document.querySelector('[aria-label="Loading offers"]')) window.__skeletonFrames += 1;
      if (!document.querySelector('a[href*="/offers/"]')) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  try {
    const base = ctx.server.baseURL;
    await page.goto(`${base}/marketplace`);
    const view = page.getByRole('link', { name: 'View offer' }).first();
    await view.waitFor();
    preloadedOnce(await requests(), '/api/v1/offers');
    // Offers preloaded before the app started are read before it mounts:
    // the first frame has them, no skeleton is painted first.
    const { arrived, appStart, skeletonFrames } = await page.evaluate(() => ({
      arrived: performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/v1/offers')).responseEnd,
      appStart: window.__appStart,
      skeletonFrames: window.__skeletonFrames,
    }));
    if (arrived < appStart) assert.equal(skeletonFrames, 0, `skeleton painted (offers at ${arrived} ms, app at ${appStart} ms)`);
    else t.diagnostic(`offers arrived at ${arrived} ms, after the app started at ${appStart} ms`);
    const id = (await view.getAttribute('href')).split('/').pop();

    await page.goto(`${base}/offers/${id}`);
    await page.getByRole('heading', { name: 'Service credits' }).waitFor();
    let list = await requests();
    for (const path of [`/api/v1/offers/${id}`, '/api/v1/sla-tiers']) preloadedOnce(list, path);

    await page.goto(`${base}/checkout/${id}`);
    await page.getByRole('radio', { name: /Debian 12/ }).waitFor();
    list = await requests();
    for (const path of [`/api/v1/offers/${id}`, '/api/v1/images', '/api/v1/sla-tiers']) preloadedOnce(list, path);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'buyer-preloads');
    await page.context().close();
  }
});

test('the marketplace, an offer and checkout fit a 360 px phone and work by keyboard', async () => {
  const page = await newPage(ctx.browser, { viewport: { width: 360, height: 740 } });
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  try {
    await page.goto(`${ctx.server.baseURL}/marketplace`);
    assert.equal((await sellers(page)).length, 3);
    assert.ok((await overflow()) <= 0, 'the marketplace fits');

    // Keyboard only: on a phone the filters open from their button; then
    // Tab to the service level filter and pick with arrows.
    const toggle = page.getByRole('button', { name: 'Filters' });
    for (let i = 0; i < 20 && !(await toggle.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await toggle.evaluate((el) => el === document.activeElement), 'the Filters button is reachable by Tab');
    await page.keyboard.press('Enter');
    const tier = page.getByLabel('Service level');
    await tier.waitFor();
    for (let i = 0; i < 20 && !(await tier.evaluate((el) => el === document.activeElement)); i++) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await tier.evaluate((el) => el === document.activeElement), 'the filter is reachable by Tab');
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/sla=bronze/);
    await page.getByText('1 offer', { exact: true }).waitFor();
    assert.deepEqual(await sellers(page), ['Prairie Compute']);

    await page.getByRole('link', { name: 'Prairie Compute' }).click();
    await page.getByRole('link', { name: 'Rent' }).waitFor();
    assert.ok((await overflow()) <= 0, 'the offer page fits');
    await page.getByRole('link', { name: 'Rent' }).click();
    await page.getByRole('radio', { name: /Debian 12/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Service level' }).waitFor();
    assert.ok((await overflow()) <= 0, 'checkout fits');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'buyer-phone');
    await page.context().close();
  }
});

test('a page whose code cannot be fetched says so and offers a reload; the rest of the app keeps working', async () => {
  const page = await newPage(ctx.browser);
  // The buy flow's wasm chunk gone, as after a deploy replaced the build
  // this tab started from.
  const chunk = '**/split_buy_section*.wasm';
  try {
    await page.goto(`${ctx.server.baseURL}/marketplace`);
    await page.route(chunk, (route) => route.fulfill({ status: 404, body: 'gone' }));
    const card = page.getByRole('article', { name: /Atlantic Racks in eu-west-1a/ });
    await card.getByRole('link', { name: 'View offer', exact: true }).click();
    const failed = page.getByRole('heading', { level: 1, name: 'This page could not be loaded' });
    await failed.waitFor();

    // The app did not stop: the header still navigates, and the page is
    // tried again on the next visit (a failed fetch is not remembered).
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Marketplace' }).click();
    await page.getByRole('heading', { level: 1, name: 'Marketplace' }).waitFor();
    await page.goBack();
    await failed.waitFor();

    await page.unroute(chunk);
    await page.getByRole('button', { name: 'Reload' }).click();
    await page.getByRole('heading', { level: 1, name: 'Atlantic Racks' }).waitFor();
    assert.match(page.url(), /\/offers\//);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await page.context().close();
  }
});
