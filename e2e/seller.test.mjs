// The seller's side against the real server: onboarding up to a connected
// host, with the real agent run from the command copied off the page, prices
// published to the marketplace, a revoked token refused by the agent, and
// the dashboard.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, addCard, apiRequest, ensureBuilt, launchBrowser, newPage, saveScreenshot, startServer, until } from './harness.mjs';

let server;
let browser;
const agents = [];
const stateDirs = [];

before(async () => {
  ensureBuilt();
  // Install commands name this server; agents heartbeat every second.
  server = await startServer({
    args: ({ baseURL }) => ['--public-url', baseURL, '--heartbeat-interval-secs', '1'],
  });
  browser = await launchBrowser();
});

after(async () => {
  for (const agent of agents) {
    if (agent.exitCode === null) {
      agent.kill('SIGTERM');
      await once(agent, 'exit');
    }
  }
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  await browser?.close();
  await server?.stop();
});

/** The environment a seller's shell would have, with the built agent on PATH. */
function agentEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'sparecloud-agent-'));
  stateDirs.push(dir);
  return {
    ...process.env,
    PATH: `${join(ROOT, 'target', 'debug')}:${process.env.PATH}`,
    SPARECLOUD_AGENT_STATE_DIR: dir,
    // Not part of the command: a disk for sale however full this machine is,
    // and simulated machines (this test is about onboarding; the command
    // registers a real QEMU host by default, which the agent's own tests
    // and e2e/real_*.test.mjs exercise).
    SPARECLOUD_AGENT_DISK_GIB: '100',
    SPARECLOUD_AGENT_DRIVER: 'sim',
    RUST_LOG: 'warn',
  };
}

async function generateToken(page, label) {
  await page.getByLabel('Label').fill(label);
  await page.getByRole('button', { name: 'Generate install token' }).click();
  await page.getByRole('button', { name: 'Copy the install command' }).click();
  await page.getByRole('button', { name: 'Copy the install command' }).getByText('Copied').waitFor();
  return page.evaluate(() => navigator.clipboard.readText());
}

test('a new seller connects a host with the real agent, publishes prices and is in the marketplace', async () => {
  const page = await newPage(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  try {
    await page.goto(`${server.baseURL}/sell`);
    await page.getByText('15 % commission').waitFor();
    await page.getByRole('link', { name: 'Start selling' }).click();
    await page.getByRole('link', { name: 'Create a seller account' }).click();
    assert.ok(await page.getByLabel('Sell capacity').isChecked());
    await page.getByLabel('Your name').fill('Sam Seller');
    await page.getByLabel('Email').fill('sam@racks.example');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign up' }).click();

    await page.getByRole('heading', { name: 'Company' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Enter your company').first().waitFor();
    await page.getByLabel('Company name').fill('Test Racks GmbH');
    await page.getByLabel('Country').fill('DE');
    await page.getByLabel('Payout account').fill('DE89 3704 0044 0532 0130 00');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Service level' }).waitFor();
    await page.getByRole('radio', { name: /Silver/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Connect a host' }).waitFor();
    const command = await generateToken(page, 'rack-1');
    assert.match(command, /^sparecloud-agent register --api http:\/\/127\.0\.0\.1:\d+ --token sc_it_\w+ --zone eu-west-1a && sparecloud-agent run$/);
    await page.getByText(/Expires in \d+:\d\d:\d\d/).waitFor();
    await page.getByText('Waiting for your agent…').waitFor();

    // Run the copied command as a seller would paste it (exec: so that
    // stopping the shell stops the agent).
    const agent = spawn('sh', ['-c', command.replace('&& sparecloud-agent run', '&& exec sparecloud-agent run')], {
      env: agentEnv(),
      stdio: 'ignore',
    });
    agents.push(agent);
    await page.getByText('Connected').waitFor({ timeout: 30_000 });
    await page.getByText(/with \d+ vCPU, \d+ GiB RAM and 100 GiB disk to sell/).waitFor();

    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Pricing' }).waitFor();
    // Nobody sells yet: every size has a suggested price that says where it
    // comes from, never an empty box.
    const boxes = page.getByRole('textbox', { name: /price per hour$/ });
    await boxes.first().waitFor();
    for (const box of await boxes.all()) assert.notEqual(await box.inputValue(), '', 'a suggested price');
    assert.equal(await page.getByText(/No one sells this size yet: .* is our list price for it\./).count(), await boxes.count());
    await page.getByLabel('s1.small price per hour').fill('0.08');
    await page.getByLabel('s1.medium price per hour').fill('0.15');
    await page.getByRole('row', { name: /s1\.small/ }).getByText('€49.64').waitFor();
    await page.getByRole('button', { name: 'Publish offer' }).click();
    await page.getByText('Your offer is live.').waitFor();

    await page.getByRole('link', { name: 'See it in the marketplace' }).click();
    await page.getByRole('link', { name: 'Test Racks GmbH' }).waitFor();
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'seller-onboarding');
    await page.context().close();
  }
});

/** Through the API: a buyer orders one s1.small from Test Racks, waits for it to run, and terminates it. */
async function rentAndTerminate() {
  const api = (...call) => apiRequest(server.baseURL, ...call);
  const { token } = await api('POST', '/accounts', null, {
    email: 'renter@example.com', password: 'correct horse battery', display_name: 'Renter', roles: ['buyer'],
  });
  const card = await addCard(server.baseURL, token);
  const offers = await api('GET', '/offers?zone=eu-west-1a', null);
  const offer = offers.items.find((o) => o.seller_name === 'Test Racks GmbH');
  const quote = await api('POST', '/quotes', token, {
    offer_id: offer.id, image_id: 'debian-12', sla_tier: 'silver', flavor_id: 's1.small', count: 1,
  });
  const order = await api('POST', '/orders', token, {
    quote_id: quote.id, payment_method_id: card.id,
    ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl r@x',
  }, { 'Idempotency-Key': 'rent-1' });
  const id = order.instances[0].id;
  const status = async () => (await api('GET', `/instances/${id}`, token)).instance.status;
  await until('the instance to run', async () => (await status()) === 'running', 20_000);
  await api('POST', `/instances/${id}/terminate`, token);
  // Terminated once the agent has destroyed it: the host's room is back.
  await until('the instance to be terminated', async () => (await status()) === 'terminated', 20_000);
}

test('a revoked token is refused by the agent, and the dashboard shows the host online', async () => {
  const page = await newPage(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  try {
    await page.goto(`${server.baseURL}/sign-in?next=/sell/start?step=4`);
    await page.getByLabel('Email').fill('sam@racks.example');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connect a host' }).waitFor();

    const command = await generateToken(page, 'to-revoke');
    await page.getByRole('button', { name: 'Revoke to-revoke' }).click();
    await page.getByRole('cell', { name: 'revoked' }).waitFor();
    const register = command.split(' && ')[0].split(' ');
    const refused = await new Promise((resolve) => {
      execFile(register[0], register.slice(1), { env: agentEnv() }, (error, stdout, stderr) => resolve({ error, stderr }));
    });
    assert.ok(refused.error, 'the agent exits with an error');
    assert.match(refused.stderr, /revoked by the seller: generate a new one/);

    // A buyer rents the host for a moment, so that there are earnings.
    await rentAndTerminate();

    await page.goto(`${server.baseURL}/seller`);
    const hosts = page.getByRole('region', { name: 'Hosts' });
    await hosts.getByRole('cell', { name: 'online' }).waitFor();
    await hosts.getByRole('button', { name: /^Drain / }).waitFor();
    const offers = page.getByRole('region', { name: 'Offers' });
    await offers.getByText(/eu-west-1a · silver · listed/).waitFor();
    const earnings = page.getByRole('region', { name: 'Earnings' });
    await earnings.getByText('Net').waitFor();
    // Seconds at €0.08 an hour: under a cent, said so, with the chart's scale.
    await earnings.getByRole('img', { name: /^Net earnings per day\. Scale: every day so far is under €0\.01\. \d{4}-\d\d-\d\d: less than €0\.01/ }).waitFor();
    await earnings.getByText('Scale: every day so far is under €0.01').waitFor();
    assert.equal(await earnings.locator('svg rect').count(), 1, 'one day, one bar');
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'seller-dashboard');
    await page.context().close();
  }
});
