// A real virtual machine, bought in the browser: the demo's lab host is this
// machine with the agent's qemu driver, which fetches the test image from
// the server. The images it cannot run are greyed out; the buyer rents the
// test image there, waits for "running", copies the SSH command from the Instances page,
// runs it with their key and reads the machine's hostname over SSH, then
// terminates it. The harness stops every QEMU it started, by pid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_BUYER, addCard, apiRequest, fillCard, newPage, saveScreenshot, serverAndBrowser, startDemoMarket, until } from './harness.mjs';

const ctx = serverAndBrowser(() => startDemoMarket({ qemuHost: true }));
const LAB = 'Sparecloud Lab (this machine)';

test('a buyer rents a real machine and logs in over SSH with the command the Instances page gives', async () => {
  const keys = mkdtempSync(join(tmpdir(), 'sparecloud-key-'));
  const key = join(keys, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
  const page = await newPage(ctx.browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  try {
    await page.goto(`${ctx.server.baseURL}/sign-in`);
    await page.getByLabel('Email').fill(DEMO_BUYER.email);
    await page.getByLabel('Password').fill(DEMO_BUYER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/marketplace/);
    await page.getByRole('link', { name: LAB }).click();
    await page.getByRole('heading', { level: 1, name: LAB }).waitFor();
    // The lab host says which images it runs once it has the catalog.
    const offerId = new URL(page.url()).pathname.split('/').pop();
    await until('the lab host to run the test image', async () =>
      (await apiRequest(ctx.server.baseURL, 'GET', `/offers/${offerId}`)).images?.includes('sparecloud-test'));
    await page.getByRole('link', { name: 'Rent' }).click();

    // What its hosts cannot run is shown, greyed out, with the reason.
    const debian = page.getByRole('radio', { name: /Debian 12/ });
    assert.ok(await debian.isDisabled(), 'the lab cannot run Debian 12');
    await page.getByText("This seller's hosts cannot run this image.").first().waitFor();
    await page.getByRole('radio', { name: /Sparecloud test image \(busybox\)/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('radio', { name: /Bronze/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('radio', { name: /s1\.small/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Payment' }).waitFor();
    await fillCard(page, '4242 4242 4242 4242');
    await page.getByLabel('SSH public key').fill(publicKey);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Review' }).waitFor();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\//);

    // The machine boots under QEMU (software emulation here): give it time.
    await page.getByText(/All 1 instances are running|is running/).waitFor({ timeout: 120_000 });
    await page.goto(`${ctx.server.baseURL}/instances`);
    const card = page.getByRole('article').first();
    await card.getByText(/^ssh -p \d+ root@127\.0\.0\.1$/).waitFor();
    await card.getByRole('button', { name: /Copy the SSH command/ }).click();
    const command = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(command, /^ssh -p \d+ root@127\.0\.0\.1$/);

    // The command as copied, with the buyer's key: it logs in.
    const [, port, target] = command.match(/^ssh -p (\d+) (\S+)$/);
    const hostname = execFileSync('ssh', [
      '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
      '-p', port, target, 'hostname',
    ], { encoding: 'utf8' }).trim();
    const name = await card.getByRole('heading').innerText();
    const instances = await page.evaluate(async () => {
      const token = JSON.parse(localStorage.getItem('sparecloud.session')).token;
      const res = await fetch('/api/v1/instances', { headers: { authorization: `Bearer ${token}` } });
      return res.json();
    });
    const mine = instances.find((i) => i.name === name);
    assert.equal(hostname, mine.id.replaceAll('_', '-').toLowerCase(), 'the machine is the instance');

    // Its console output, as the host sent it, is on the instance's page.
    await card.getByRole('heading').getByRole('link').click();
    await page.getByRole('heading', { name: 'Console output' }).waitFor();
    await until('the console output', async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      const log = page.getByRole('log', { name: 'Console output' });
      return (await log.count()) > 0 && (await log.innerText()).includes('sparecloud: ready');
    }, 30_000);
    await page.goto(`${ctx.server.baseURL}/instances`);

    // Terminate it: the buyer's machine is gone.
    await card.getByRole('button', { name: 'Terminate' }).click();
    await page.getByRole('button', { name: 'Terminate instance' }).click();
    await page.getByRole('article').first().getByText('terminated').waitFor({ timeout: 60_000 });
    assert.deepEqual(page.pageErrors, []);
  } finally {
    await saveScreenshot(page, 'real-vm');
    await page.context().close();
  }
});
