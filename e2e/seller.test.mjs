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
import { ROOT, ensureBuilt, launchBrowser, newPage, saveScreenshot, startServer } from './harness.mjs';

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
    // Not part of the command: a disk for sale however full this machine is.
    SPARECLOUD_AGENT_DISK_GIB: '100',
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

    await page.goto(`${server.baseURL}/seller`);
    const hosts = page.getByRole('region', { name: 'Hosts' });
    await hosts.getByRole('cell', { name: 'online' }).waitFor();
    await hosts.getByRole('button', { name: /^Drain / }).waitFor();
    const offers = page.getByRole('region', { name: 'Offers' });
    await offers.getByText(/eu-west-1a · silver · listed/).waitFor();
    await page.getByRole('region', { name: 'Earnings' }).getByText('Net').waitFor();
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'seller-dashboard');
    await page.context().close();
  }
});
