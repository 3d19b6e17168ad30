// Money that is owed: a buyer whose order's authorisation expired at Stripe
// and whose newest card is refused gets a past-due invoice when their
// instance ends; the app shows a banner, and the invoice is paid from the
// Invoices page with another saved card. A seller of our own prices by the
// second (€360 an hour), so that seconds of use cost cents.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, addCard, apiRequest, ensureBuilt, launchBrowser, newPage, saveScreenshot, startServer, stripeBase, until,
} from './harness.mjs';

const PASSWORD = 'correct horse battery';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl late@laptop';

let server;
let browser;
let agent;
let agentDir;
const api = (...call) => apiRequest(server.baseURL, ...call);

before(async () => {
  ensureBuilt();
  server = await startServer({ args: ({ baseURL }) => ['--public-url', baseURL, '--heartbeat-interval-secs', '1'] });
  browser = await launchBrowser();
  // A seller with one simulated host and a steep price.
  const seller = await api('POST', '/accounts', null, {
    email: 'pricey@racks.example', password: PASSWORD, display_name: 'Pricey', roles: ['seller'],
  });
  await api('POST', '/seller/profile', seller.token, {
    company_name: 'Pricey Racks', country: 'NL', payout_reference: 'NL91ABNA0417164300', default_sla_tier: 'silver',
  });
  const install = await api('POST', '/seller/install-tokens', seller.token, { label: 'rack-1', zone: 'eu-west-1a' });
  agentDir = mkdtempSync(join(tmpdir(), 'sparecloud-agent-'));
  const env = {
    ...process.env, SPARECLOUD_AGENT_STATE_DIR: agentDir, SPARECLOUD_AGENT_DISK_GIB: '100', RUST_LOG: 'warn',
  };
  const bin = join(ROOT, 'target', 'debug', 'sparecloud-agent');
  execFileSync(bin, ['register', '--api', server.baseURL, '--token', install.secret, '--zone', 'eu-west-1a', '--driver', 'sim'], { env });
  agent = spawn(bin, ['run', '--sim-boot-secs', '1'], { env, stdio: 'ignore' });
  await api('POST', '/seller/offers', seller.token, {
    zone: 'eu-west-1a', sla_tier: 'silver', prices: [{ flavor_id: 's1.small', hourly_cents: 36_000 }],
  });
});

after(async () => {
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await once(agent, 'exit');
  }
  if (agentDir) rmSync(agentDir, { recursive: true, force: true });
  await browser?.close();
  await server?.stop();
});

/** GET on localstripe with the secret key: what Stripe holds. */
async function stripe(method, path) {
  const res = await fetch(`${stripeBase()}${path}`, { method, headers: { authorization: 'Bearer sk_test_sparecloud' } });
  return res.json();
}

test('a past-due invoice shows a banner and is paid from the Invoices page with another card', async () => {
  const { token } = await api('POST', '/accounts', null, {
    email: 'late@example.com', password: PASSWORD, display_name: 'Late Payer', roles: ['buyer'],
  });
  const good = await addCard(server.baseURL, token, '4242 4242 4242 4242');
  const offer = await until('the offer to be listed', async () =>
    (await api('GET', '/offers?zone=eu-west-1a', null)).items.find((o) => o.seller_name === 'Pricey Racks'));
  const quote = await api('POST', '/quotes', token, {
    offer_id: offer.id, image_id: 'debian-12', sla_tier: 'silver', flavor_id: 's1.small', count: 1,
  });
  const order = await api('POST', '/orders', token,
    { quote_id: quote.id, payment_method_id: good.id, ssh_public_key: SSH_KEY }, { 'Idempotency-Key': 'late-1' });
  const id = order.instances[0].id;
  const instance = async () => (await api('GET', `/instances/${id}`, token)).instance;
  await until('a few cents of use', async () => (await instance()).cost_so_far_cents >= 5, 30_000);

  // The authorisation expires at Stripe (it does after 7 days), and the
  // buyer's newest card is one the bank refuses.
  const intents = await stripe('GET', '/v1/payment_intents?limit=100');
  const authorisation = intents.data.find((pi) => pi.metadata.order_id === order.id);
  assert.equal(authorisation.status, 'requires_capture');
  await stripe('POST', `/v1/payment_intents/${authorisation.id}/cancel`);
  await addCard(server.baseURL, token, '4000 0000 0000 0341');
  await api('POST', `/instances/${id}/terminate`, token);
  const invoice = await until('the final invoice to be refused', async () =>
    (await api('GET', '/invoices', token)).find((i) => i.status === 'past_due'), 30_000);
  assert.equal(invoice.kind, 'final');
  assert.ok(invoice.total_cents >= 5, JSON.stringify(invoice));

  const page = await newPage(browser);
  try {
    await page.goto(`${server.baseURL}/sign-in`);
    await page.getByLabel('Email').fill('late@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/marketplace/);
    const banner = page.getByRole('alert').filter({ hasText: 'An invoice is past due' });
    await banner.waitFor();
    // What is owed, from the balance.
    await banner.filter({ hasText: (invoice.total_cents / 100).toFixed(2) }).waitFor();
    await banner.getByRole('link', { name: 'Pay now' }).click();
    await page.getByRole('heading', { level: 1, name: 'Invoices' }).waitFor();

    const due = page.getByRole('region', { name: new RegExp(`Invoice ${invoice.number} .* is past due`) });
    await due.getByText(/declined/).waitFor();
    // The refused card first: it fails again, and says so.
    await due.getByLabel('Pay with').selectOption({ label: 'Visa ending in 0341' });
    await due.getByRole('button', { name: 'Pay now' }).click();
    await due.getByText(/Card declined/).waitFor();
    await due.getByLabel('Pay with').selectOption({ label: 'Visa ending in 4242' });
    await due.getByRole('button', { name: 'Pay now' }).click();
    const row = page.getByRole('row').filter({ hasText: invoice.number });
    await row.getByText('Paid', { exact: true }).waitFor();
    await due.waitFor({ state: 'detached' });

    // Its printable page: the line, the total, a Print button.
    await row.getByRole('link', { name: invoice.number }).click();
    await page.getByRole('heading', { level: 1, name: `Invoice ${invoice.number}` }).waitFor();
    await page.getByText('An invoice is past due').waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: /^s1\.small|debian-12/ }).first().waitFor();
    await page.getByRole('row', { name: /Total \(EUR\)/ }).waitFor();
    await page.getByRole('button', { name: 'Print' }).waitFor();
    await saveScreenshot(page, 'invoice-printable');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: `Invoice ${invoice.number}` }).waitFor();
    assert.equal(await page.getByText('An invoice is past due').count(), 0, 'the banner is gone');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'invoices');
    await page.context().close();
  }
  // Stripe: the refused attempts and the one that paid, nothing twice.
  const after = await stripe('GET', '/v1/payment_intents?limit=100');
  const charges = after.data.filter((pi) => pi.metadata.invoice_id === invoice.id);
  assert.equal(charges.filter((pi) => pi.status === 'succeeded').length, 1);
});
