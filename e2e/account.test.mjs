// The account page and what it protects: removing a saved card, signing out
// everywhere; and on the seller dashboard, revoking a host's credential,
// which stops that host's real agent process with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  DEMO_BUYER, addCard, apiRequest, newPage, saveScreenshot, serverAndBrowser, startDemoMarket, until,
} from './harness.mjs';

const ctx = serverAndBrowser(startDemoMarket);

async function signIn(page, { email, password }, next = '/account') {
  await page.goto(`${ctx.server.baseURL}/sign-in?next=${next}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${ctx.server.baseURL}${next}`);
}

async function apiSignIn({ email, password }) {
  return (await apiRequest(ctx.server.baseURL, 'POST', '/sessions', null, { email, password })).token;
}

test('a buyer removes a saved card from the account page, after a question', async () => {
  const token = await apiSignIn(DEMO_BUYER);
  const card = await addCard(ctx.server.baseURL, token, '4000056655665556');
  const page = await newPage(ctx.browser);
  try {
    await signIn(page, DEMO_BUYER, '/marketplace');
    // The name in the header leads to the account page.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Demo Buyer' }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    const cards = page.getByRole('region', { name: 'Saved cards' });
    await cards.getByText(`Visa ending in ${card.last4}, expires 12/2039`).waitFor();

    await cards.getByRole('button', { name: `Remove Visa ending in ${card.last4}` }).click();
    const question = cards.getByRole('alertdialog', { name: `Confirm removing Visa ending in ${card.last4}` });
    await question.getByRole('button', { name: 'Cancel' }).click();
    await question.waitFor({ state: 'detached' });
    await cards.getByRole('button', { name: `Remove Visa ending in ${card.last4}` }).click();
    await question.getByRole('button', { name: 'Remove card' }).click();
    await cards.getByText(`Visa ending in ${card.last4}`).waitFor({ state: 'detached' });

    const left = await apiRequest(ctx.server.baseURL, 'GET', '/payment-methods', token);
    assert.ok(!left.some((c) => c.id === card.id), 'the server no longer lists it');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'account-cards');
    await page.context().close();
  }
});

test('an API key made on the account page is shown once, reads but never orders, and is refused once revoked', async () => {
  const page = await newPage(ctx.browser);
  const asKey = (secret, method, path, body) => fetch(`${ctx.server.baseURL}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  try {
    await signIn(page, DEMO_BUYER);
    const keys = page.getByRole('region', { name: 'API keys' });
    await keys.getByText('No API keys yet.').waitFor();
    // A name is needed, said inline.
    await keys.getByRole('button', { name: 'Create API key' }).click();
    await keys.getByText('Enter a name for this key.').waitFor();
    await keys.getByLabel('Key name').fill('Nightly report');
    await keys.getByLabel('Access').selectOption('read');
    await keys.getByLabel('Expires in').selectOption('30');
    await keys.getByRole('button', { name: 'Create API key' }).click();
    await keys.getByRole('status').getByText('it is shown only once').waitFor();
    const secret = (await keys.getByLabel('New API key secret').textContent()).trim();
    assert.match(secret, /^sck_[0-9a-f]{64}$/);
    const row = keys.getByRole('row', { name: /Nightly report/ });
    await row.getByRole('cell', { name: 'Read only' }).waitFor();
    await saveScreenshot(page, 'account-api-key');

    // It reads as the buyer, and may not order.
    const instances = await asKey(secret, 'GET', '/instances');
    assert.equal(instances.status, 200);
    const order = await asKey(secret, 'POST', '/orders', { quote_id: 'q', payment_method_id: 'p', ssh_public_key: 'k' });
    assert.equal(order.status, 403);
    assert.equal((await order.json()).type, 'https://sparecloud.dev/problems/api-key-scope');
    // Its use shows; the secret does not come back.
    await page.reload();
    await row.getByRole('cell', { name: new Date().toISOString().slice(0, 10) }).first().waitFor();
    assert.equal(await keys.getByLabel('New API key secret').count(), 0);

    await row.getByRole('button', { name: 'Revoke Nightly report' }).click();
    await keys.getByRole('alertdialog', { name: 'Confirm revoking Nightly report' })
      .getByRole('button', { name: 'Revoke key' }).click();
    await keys.getByText('No API keys yet.').waitFor();
    const refused = await asKey(secret, 'GET', '/instances');
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).type, 'https://sparecloud.dev/problems/api-key-revoked');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await page.context().close();
  }
});

test('sign out everywhere ends the sessions of other browsers too', async () => {
  const elsewhere = await apiSignIn(DEMO_BUYER);
  const page = await newPage(ctx.browser);
  try {
    await signIn(page, DEMO_BUYER);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.waitForURL(`${ctx.server.baseURL}/sign-in`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' }).waitFor();
    const res = await fetch(`${ctx.server.baseURL}/api/v1/me`, { headers: { authorization: `Bearer ${elsewhere}` } });
    assert.equal(res.status, 401, 'the other session ended');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await page.context().close();
  }
});

test("a seller revokes a host credential and that host's agent stops, saying why", async () => {
  const seller = { email: 'sales@atlantic.demo.sparecloud.dev', password: DEMO_BUYER.password };
  const token = await apiSignIn(seller);
  const [host] = await apiRequest(ctx.server.baseURL, 'GET', '/seller/hosts', token);
  const agent = ctx.server.agents.get(host.name);
  assert.equal(agent.exitCode, null, 'its agent runs');
  const page = await newPage(ctx.browser);
  try {
    await signIn(page, seller, '/seller');
    const hosts = page.getByRole('region', { name: 'Hosts' });
    await hosts.getByRole('button', { name: `Revoke the credential of ${host.name}` }).click();
    const question = hosts.getByRole('alertdialog', { name: `Confirm revoking the credential of ${host.name}` });
    await question.getByText('register it with a new install token').waitFor();
    await question.getByRole('button', { name: 'Revoke credential' }).click();
    const row = hosts.getByRole('row', { name: new RegExp(host.name) }).first();
    await row.getByText('credential revoked').waitFor();
    assert.equal(await hosts.getByRole('button', { name: `Revoke the credential of ${host.name}` }).isDisabled(), true);

    // At its next heartbeat the agent is refused, prints the reason and exits.
    if (agent.exitCode === null) await once(agent, 'exit');
    assert.notEqual(agent.exitCode, 0);
    const log = readFileSync(join(ctx.server.dir, 'agents', host.name, 'agent.log'), 'utf8');
    assert.match(log, /revoked this host's credential/);
    assert.match(log, /new install token/);
    await until('the host shows offline', async () => {
      const [after] = (await apiRequest(ctx.server.baseURL, 'GET', '/seller/hosts', token)).filter((h) => h.id === host.id);
      return after.status === 'offline';
    }, 60_000);
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'seller-revoked-host');
    await page.context().close();
  }
});
