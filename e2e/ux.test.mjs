// What a first visit stumbles on (issue 20): the marketplace on a phone
// shows offers first with the filters behind a button, and an offer card
// is one link target, reachable and opened from the keyboard.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, newPage, saveScreenshot, startDemoMarket } from './harness.mjs';

const ctx = serverAndBrowser(startDemoMarket);

test('on a 360 px phone the first offer shows without scrolling and the filters open from a button', async () => {
  const page = await newPage(ctx.browser, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  try {
    await page.goto(`${ctx.server.baseURL}/marketplace`);
    const first = page.getByRole('article').first();
    await first.waitFor();
    const box = await first.getByRole('heading').boundingBox();
    assert.ok(box && box.y + box.height <= 740, `the first offer's heading is on the first screen: ${JSON.stringify(box)}`);
    const filters = page.getByRole('form', { name: 'Filters' });
    assert.equal(await filters.isVisible(), false, 'the filters wait behind their button');
    const toggle = page.getByRole('button', { name: 'Filters' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await saveScreenshot(page, 'marketplace-360');
    await toggle.click();
    await filters.waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await filters.getByLabel('Zone').selectOption({ label: 'eu-west-1a' });
    await page.getByRole('button', { name: 'Filters (1)' }).waitFor();
    await page.waitForURL(/zone=eu-west-1a/);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'marketplace-360-filters');
    await page.context().close();
  }
});

test('an offer card has a visible "View offer" action, reached and opened from the keyboard, and the whole card is a link target', async () => {
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/marketplace`);
    const card = page.getByRole('article', { name: /Atlantic Racks in eu-west-1a/ });
    const action = card.getByRole('link', { name: 'View offer', exact: true });
    await action.waitFor();
    assert.equal(await action.getAttribute('aria-describedby'), await card.getByRole('heading').getAttribute('id'),
      'described by the seller');
    // Tab until the card's action has the focus, then Enter.
    let focused = false;
    for (let i = 0; i < 60 && !focused; i++) {
      await page.keyboard.press('Tab');
      focused = await action.evaluate((el) => el === document.activeElement);
    }
    assert.ok(focused, 'the action is in the tab order');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Atlantic Racks' }).waitFor();
    assert.match(page.url(), /\/offers\//);

    // A click on the card's body (not on a link) opens the offer too.
    await page.goBack();
    const body = await card.getByText('Uptime (30 days)').boundingBox();
    await page.mouse.click(body.x + 4, body.y + body.height / 2);
    await page.getByRole('heading', { level: 1, name: 'Atlantic Racks' }).waitFor();
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'offer-card-keyboard');
    await page.context().close();
  }
});
