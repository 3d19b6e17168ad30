// Partner portals: a page on another origin embeds the buy flow with
// embed.js; a purchase inside the iframe tells the host page; a page on an
// origin the partner did not allow cannot frame the app; the partner's share
// is in its ledger; the iframe follows its content's height.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import {
  ROOT, apiRequest, ensureBuilt, fillCard, freePort, launchBrowser, newPage, saveScreenshot, startDemoMarket,
} from './harness.mjs';

const SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop';
const PASSWORD = 'correct horse battery';

let server;
let browser;
let partnerKey;
let hostPage;
let otherPage;
const purchase = {};

/** A static page on its own origin (another port). */
async function servePage(html) {
  const port = await freePort();
  const http = createServer((request, response) => {
    response.writeHead(request.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(request.url === '/' ? html : 'not found');
  });
  http.listen(port, '127.0.0.1');
  await once(http, 'listening');
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => http.close(r)) };
}

const api = (...call) => apiRequest(server.baseURL, ...call);

before(async () => {
  ensureBuilt();
  server = await startDemoMarket();
  browser = await launchBrowser();
  hostPage = await servePage(`<!doctype html><title>Acme portal</title>
    <h1>Acme portal</h1>
    <div id="shop" data-sparecloud-partner="acme"></div>
    <script>
      window.events = [];
      for (const type of ['sparecloud:ready', 'sparecloud:resize', 'sparecloud:order-completed']) {
        document.getElementById('shop').addEventListener(type, (e) => window.events.push({ type, ...e.detail }));
      }
    </script>
    <script src="${server.baseURL}/public/embed.js"></script>`);
  otherPage = await servePage(`<!doctype html><title>Not a partner</title>
    <iframe id="stolen" src="${server.baseURL}/embed/acme/marketplace" style="width:100%;height:600px"></iframe>`);
  // The partner, made with the server's own command, on the same database.
  const bin = resolve(ROOT, process.env.SPARECLOUD_SERVER_BIN ?? 'target/debug/sparecloud-server');
  const out = execFileSync(
    bin,
    ['partner', 'add', '--id', 'acme', '--name', 'Acme Hosting', '--origin', hostPage.origin, '--accent', '#aa3300'],
    { env: { ...process.env, DATABASE_URL: `sqlite://${server.dir}/sparecloud.db`, RUST_LOG: 'warn' } },
  ).toString();
  partnerKey = out.match(/sc_pk_[0-9a-f]+/)[0];
});

after(async () => {
  await browser?.close();
  await hostPage?.close();
  await otherPage?.close();
  await server?.stop();
});

test('a purchase inside the embed on a partner page completes and the host page hears of it', async () => {
  const email = 'embed-buyer@example.com';
  const { token } = await api('POST', '/accounts', null, {
    email, password: PASSWORD, display_name: 'Embed Buyer', roles: ['buyer'],
  });
  purchase.token = token;
  const page = await newPage(browser);
  try {
    await page.goto(hostPage.origin);
    const frame = page.frameLocator('iframe[data-sparecloud]');
    await frame.getByText('Cloud servers by Acme Hosting').waitFor();
    await page.waitForFunction(() => window.events.some((e) => e.type === 'sparecloud:ready'));
    // Themed from the partner's config, without the site's header.
    const accent = await frame.locator('html').evaluate((el) => getComputedStyle(el).getPropertyValue('--color-accent').trim());
    assert.equal(accent, '#aa3300');
    assert.equal(await frame.getByRole('navigation', { name: 'Main' }).count(), 0);

    await frame.getByRole('link', { name: 'Prairie Compute' }).click();
    await frame.getByRole('link', { name: 'Rent' }).click();
    await frame.getByRole('radio', { name: /Debian 12/ }).check();
    await frame.getByRole('button', { name: 'Continue' }).click();
    await frame.getByRole('radio', { name: /Bronze/ }).check();
    await frame.getByRole('button', { name: 'Continue' }).click();
    await frame.getByRole('radio', { name: /s1\.small/ }).check();
    await frame.getByRole('button', { name: 'Continue' }).click();
    // Signing in happens inside the embed and comes back to the same step.
    await frame.getByRole('link', { name: 'Sign in to continue' }).click();
    await frame.getByLabel('Email').fill(email);
    await frame.getByLabel('Password').fill(PASSWORD);
    await frame.getByRole('button', { name: 'Sign in' }).click();
    await frame.getByRole('heading', { name: 'Payment' }).waitFor();
    // Stripe's card element works inside the embed too.
    await fillCard(frame, '4242 4242 4242 4242');
    await frame.getByLabel('SSH public key').fill(SSH_KEY);
    await frame.getByRole('button', { name: 'Continue' }).click();
    await frame.getByRole('button', { name: 'Place order' }).click();

    await page.waitForFunction(() => window.events.some((e) => e.type === 'sparecloud:order-completed'));
    const completed = await page.evaluate(() => window.events.find((e) => e.type === 'sparecloud:order-completed'));
    assert.match(completed.order_id, /^ord_/);
    assert.ok(completed.hourly_total_cents > 0 && completed.estimated_month_cents > 0, JSON.stringify(completed));
    assert.equal(completed.currency, 'EUR');
    const sent = JSON.stringify(completed);
    assert.ok(!sent.includes('4242') && !/cvc|card|number/i.test(sent), sent);
    await frame.getByRole('heading', { name: 'Your order' }).waitFor();
    const order = await api('GET', `/orders/${completed.order_id}`, token);
    assert.equal(order.partner_id, 'acme', 'the order records the partner');
    purchase.instance = order.instances[0].id;

    // Messages from any other sender are ignored by the loader.
    await page.evaluate(() => window.postMessage({ type: 'sparecloud:order-completed', order_id: 'forged' }, '*'));
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.events.filter((e) => e.order_id === 'forged').length), 0);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'partner-purchase');
    await page.context().close();
  }
});

test('the iframe follows the height of its content', async () => {
  const page = await newPage(browser);
  try {
    await page.goto(hostPage.origin);
    const frame = page.frameLocator('iframe[data-sparecloud]');
    await frame.getByRole('link', { name: 'Prairie Compute' }).waitFor();
    const iframe = page.locator('iframe[data-sparecloud]');
    const contentHeight = () => frame.locator('body').evaluate((b) => Math.ceil(b.getBoundingClientRect().height));
    const iframeHeight = () => iframe.evaluate((el) => el.getBoundingClientRect().height);
    await page.waitForFunction(() => window.events.some((e) => e.type === 'sparecloud:resize'));
    await page.waitForTimeout(300);
    const listHeight = await iframeHeight();
    assert.ok(Math.abs(listHeight - (await contentHeight())) <= 1, `${listHeight} vs ${await contentHeight()}`);

    // An empty result is much shorter: the iframe shrinks with it.
    await frame.getByLabel('Max price per hour (EUR)').fill('0.01');
    await frame.getByLabel('Max price per hour (EUR)').press('Enter');
    await frame.getByRole('heading', { name: 'No offers match' }).waitFor();
    await page.waitForFunction((before) => {
      const el = document.querySelector('iframe[data-sparecloud]');
      return el.getBoundingClientRect().height !== before;
    }, listHeight);
    await page.waitForTimeout(300);
    const emptyHeight = await iframeHeight();
    assert.notEqual(emptyHeight, listHeight);
    assert.ok(Math.abs(emptyHeight - (await contentHeight())) <= 1, `${emptyHeight} vs ${await contentHeight()}`);
  } finally {
    await saveScreenshot(page, 'partner-resize');
    await page.context().close();
  }
});

test('a page on an origin the partner did not allow cannot frame the app', async () => {
  const page = await newPage(browser, { expectViolations: /directive: "frame-ancestors / });
  try {
    const framed = page.waitForResponse((r) => r.url().includes('/embed/acme/marketplace'));
    await page.goto(otherPage.origin);
    const response = await framed;
    const policy = response.headers()['content-security-policy'];
    assert.ok(policy.endsWith(`; frame-ancestors ${hostPage.origin}`), policy);
    await page.waitForTimeout(1000);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const content = await frame.content().catch(() => '');
    assert.ok(!content.includes('Powered by Sparecloud'), 'the app did not render in the frame');
    assert.ok(page.expectedViolations.length > 0, 'Chromium blocked the frame for its ancestors');
  } finally {
    await saveScreenshot(page, 'partner-refused');
    await page.context().close();
  }
});

test("the partner's share of the sale appears in its ledger", async () => {
  assert.ok(purchase.instance, 'the purchase test ran first');
  // It bills while running, until the agent has destroyed it.
  let detail;
  for (let i = 0; i < 100; i++) {
    detail = await api('GET', `/instances/${purchase.instance}`, purchase.token);
    if (detail.instance.status === 'running') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(detail.instance.status, 'running', JSON.stringify(detail));
  await new Promise((r) => setTimeout(r, 1000));
  await api('POST', `/instances/${purchase.instance}/terminate`, purchase.token);
  for (let i = 0; i < 100; i++) {
    detail = await api('GET', `/instances/${purchase.instance}`, purchase.token);
    if (detail.instance.status === 'terminated') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(detail.instance.status, 'terminated', JSON.stringify(detail));
  let ledger;
  for (let i = 0; i < 50; i++) {
    ledger = await api('GET', '/partner/ledger', partnerKey);
    if (ledger.entries.some((e) => e.instance_id === purchase.instance)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(ledger.partner_id, 'acme');
  assert.equal(ledger.share_bp, 2000);
  const entry = ledger.entries.find((e) => e.instance_id === purchase.instance);
  assert.ok(entry, JSON.stringify(ledger));
  // A few seconds at a few cents an hour round to no cents yet; the share
  // is never more than a fifth of the commission.
  assert.ok(entry.partner_share_cents * 5 <= entry.commission_cents + 5, JSON.stringify(entry));
  const res = await fetch(`${server.baseURL}/api/v1/partner/ledger`);
  assert.equal(res.status, 401, 'the ledger needs the partner key');
});
