// Host maintenance against the real server, the demo marketplace and its
// running simulated agents: the seller drains the host an instance runs on
// and watches the migration progress on the host view; the instance keeps
// its id, runs again on the seller's other host, and the buyer reads the
// move in its event log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO_BUYER, addCard, apiRequest, serverAndBrowser, newPage, saveScreenshot, startDemoMarket, until,
} from './harness.mjs';

const SELLER = { email: 'ops@nordlicht.demo.sparecloud.dev', password: DEMO_BUYER.password };
const SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop';

const ctx = serverAndBrowser(startDemoMarket);

const api = (...call) => apiRequest(ctx.server.baseURL, ...call);

/** The demo buyer's running instance on Nordlicht Hosting (gold, two hosts). */
async function runningInstance() {
  const { token } = await api('POST', '/sessions', null, DEMO_BUYER);
  const offers = await api('GET', '/offers?sla=gold', null);
  const offer = offers.items.find((o) => o.seller_name === 'Nordlicht Hosting');
  const card = await addCard(ctx.server.baseURL, token);
  const quote = await api('POST', '/quotes', token, {
    offer_id: offer.id, image_id: 'debian-12', sla_tier: 'gold', flavor_id: 's1.small', count: 1,
  });
  const order = await api('POST', '/orders', token,
    { quote_id: quote.id, payment_method_id: card.id, ssh_public_key: SSH_KEY },
    { 'Idempotency-Key': `drain-${quote.id}` });
  const id = order.instances[0].id;
  await until('the instance to run', async () => (await api('GET', `/instances/${id}`, token)).instance.status === 'running');
  return { token, id };
}

test('draining a host migrates its instance to another host, with progress for the seller and the move in the buyer\'s log', async () => {
  const buyer = await runningInstance();
  const { token: sellerToken } = await api('POST', '/sessions', null, SELLER);
  const busy = (await api('GET', '/seller/hosts', sellerToken)).find((h) => h.instances > 0);
  assert.ok(busy, 'a Nordlicht host runs the instance');

  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/sign-in`);
    await page.getByLabel('Email').fill(SELLER.email);
    await page.getByLabel('Password').fill(SELLER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
    await page.goto(`${ctx.server.baseURL}/seller`);
    const hosts = page.getByRole('region', { name: 'Hosts' });
    await hosts.getByRole('button', { name: `Drain ${busy.name}` }).click();
    // It asks first: draining stops and moves the host's instances.
    const confirm = hosts.getByRole('alertdialog', { name: `Confirm draining ${busy.name}` });
    await confirm.getByText(/its 1 instance\(s\) are stopped and started again/).waitFor();
    // The host list reloads every few seconds: the question stays open.
    await page.waitForResponse((r) => r.url().endsWith('/api/v1/seller/hosts'));
    await page.waitForTimeout(100);
    assert.ok(await confirm.isVisible(), 'still asking after the host list reloaded');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await api('GET', '/seller/hosts', sellerToken)).find((h) => h.id === busy.id).status, 'online');
    await hosts.getByRole('button', { name: `Drain ${busy.name}` }).click();
    await confirm.getByRole('button', { name: 'Drain and migrate' }).click();
    const row = hosts.getByRole('row', { name: new RegExp(`^${busy.name}`) });
    await row.getByText('draining', { exact: true }).waitFor();
    await hosts.getByRole('progressbar', { name: `Migration off ${busy.name}` }).waitFor();
    // The agent stops it, the server moves it, the other host starts it.
    await hosts.getByRole('status').getByText('Drained: 1 instance moved to other hosts.').waitFor({ timeout: 30_000 });
    await hosts.getByRole('button', { name: `Resume ${busy.name}` }).waitFor();

    const moved = await until('the moved instance to run', async () => {
      const detail = await api('GET', `/instances/${buyer.id}`, buyer.token);
      return detail.instance.status === 'running' && detail.events.some((e) => e.kind === 'migrated') && detail;
    });
    assert.equal(moved.instance.id, buyer.id, 'same id');
    assert.equal(moved.instance.zone, 'eu-central-1a', 'the seller\'s other host, same zone');
    const after = (await api('GET', '/seller/hosts', sellerToken)).find((h) => h.id === busy.id);
    assert.equal(after.instances, 0);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'seller-drain');
    await page.context().close();
  }

  // The buyer reads the move in the instance's event log.
  const buyerPage = await newPage(ctx.browser);
  try {
    await buyerPage.goto(`${ctx.server.baseURL}/sign-in`);
    await buyerPage.getByLabel('Email').fill(DEMO_BUYER.email);
    await buyerPage.getByLabel('Password').fill(DEMO_BUYER.password);
    await buyerPage.getByRole('button', { name: 'Sign in' }).click();
    await buyerPage.waitForURL(/\/marketplace/);
    await buyerPage.goto(`${ctx.server.baseURL}/instances/${buyer.id}`);
    const log = buyerPage.getByRole('region', { name: 'Event log' });
    await log.getByText(/the instance stops here and starts again, with the same id/).waitFor();
    await log.getByText('Moved off the host in maintenance (eu-central-1a) to a host in eu-central-1a.').waitFor();
    assert.deepEqual(buyerPage.pageErrors, []);
  } finally {
    await saveScreenshot(buyerPage, 'instance-migrated');
    await buyerPage.context().close();
  }
});
