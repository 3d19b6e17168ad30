// A real cold migration: the demo's lab seller has two hosts, both this
// machine with the agent's qemu driver. A buyer's machine runs on one and
// the buyer writes a file over SSH; the seller drains that host in the
// dashboard; the machine stops, its disk is uploaded by the old host and
// fetched by the new one, and it runs again there, where the buyer's file
// is still in /root. The old host deletes its copy once the machine runs
// on the new one. The harness stops every QEMU it started, by pid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_BUYER, addCard, apiRequest, fillCard, newPage, saveScreenshot, serverAndBrowser, startDemoMarket, until } from './harness.mjs';

const ctx = serverAndBrowser(() => startDemoMarket({ qemuHost: true }));
const LAB = 'Sparecloud Lab (this machine)';
const LAB_SELLER = { email: 'lab@sparecloud.dev', password: DEMO_BUYER.password };

function ssh(key, user, address, command) {
  const [host, port] = address.split(':');
  return spawnSync('ssh', ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', '-i', key, '-p', port,
    `${user}@${host}`, command], { encoding: 'utf8', timeout: 30_000 });
}

test('draining a real host moves a machine with its disk: the buyer\'s file is there on the new host', async () => {
  const api = (...call) => apiRequest(ctx.server.baseURL, ...call);
  const keys = mkdtempSync(join(tmpdir(), 'sparecloud-key-'));
  const key = join(keys, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);

  // The buyer rents the test image on the lab and writes a file.
  const { token } = await api('POST', '/sessions', null, DEMO_BUYER);
  const card = await addCard(ctx.server.baseURL, token);
  const offer = (await api('GET', '/offers?zone=lab-local', null)).items.find((o) => o.seller_name === LAB);
  await until('the lab hosts to run the test image', async () =>
    (await api('GET', `/offers/${offer.id}`, null)).images?.includes('sparecloud-test'));
  const quote = await api('POST', '/quotes', token, {
    offer_id: offer.id, image_id: 'sparecloud-test', sla_tier: offer.sla_tier, flavor_id: 's1.small', count: 1,
  });
  const order = await api('POST', '/orders', token,
    { quote_id: quote.id, payment_method_id: card.id, ssh_public_key: readFileSync(`${key}.pub`, 'utf8').trim() },
    { 'Idempotency-Key': `migrate-${quote.id}` });
  const id = order.instances[0].id;
  const running = async () => {
    const { instance } = await api('GET', `/instances/${id}`, token);
    return instance.status === 'running' && instance.address ? instance : null;
  };
  const before = await until('the machine to run', running, 120_000);
  const wrote = ssh(key, before.ssh_user, before.address, "echo 'written before the move' > /root/notes.txt && sync");
  assert.equal(wrote.status, 0, wrote.stderr);

  // The seller drains its host in the dashboard.
  const { token: sellerToken } = await api('POST', '/sessions', null, LAB_SELLER);
  const hosts = await api('GET', '/seller/hosts', sellerToken);
  const from = hosts.find((h) => h.instances > 0);
  const page = await newPage(ctx.browser);
  try {
    await page.goto(`${ctx.server.baseURL}/sign-in`);
    await page.getByLabel('Email').fill(LAB_SELLER.email);
    await page.getByLabel('Password').fill(LAB_SELLER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
    await page.goto(`${ctx.server.baseURL}/seller`);
    const hostTable = page.getByRole('region', { name: 'Hosts' });
    // Real hosts say how they run machines and what disk they use.
    const row = hostTable.getByRole('row', { name: new RegExp(`^${from.name}`) });
    await row.getByText('QEMU, software emulation (slow)').waitFor();
    await row.getByText(/\d+ MiB|\d+\.\d GiB/).waitFor();
    await hostTable.getByRole('button', { name: `Drain ${from.name}` }).click();
    await hostTable.getByRole('alertdialog', { name: `Confirm draining ${from.name}` })
      .getByRole('button', { name: 'Drain and migrate' }).click();

    // It runs again on the other host, with the buyer's file.
    const after = await until('the machine to run on the other host', async () => {
      const instance = await running();
      return instance && instance.address !== before.address ? instance : null;
    }, 240_000).catch(async (error) => {
      console.log(JSON.stringify(await api('GET', `/instances/${id}`, token), null, 1));
      for (const h of ['lab-qemu-01', 'lab-qemu-02']) {
        console.log(h, readFileSync(join(ctx.server.dir, 'agents', h, 'agent.log'), 'utf8').slice(-3000));
      }
      throw error;
    });
    const read = ssh(key, after.ssh_user, after.address, 'cat /root/notes.txt; hostname');
    assert.equal(read.status, 0, read.stderr);
    assert.deepEqual(read.stdout.trim().split('\n'), ['written before the move', id.replace(/_/g, '-')]);
    const detail = await api('GET', `/instances/${id}`, token);
    assert.ok(detail.events.some((e) => e.kind === 'migrated'), JSON.stringify(detail.events));
    await saveScreenshot(page, 'real-migration-drained');

    // The old host deletes its copy once the machine runs on the new one.
    const oldCopy = join(ctx.server.dir, 'agents', from.name, 'vms', id);
    await until('the old host to delete its copy', async () => !existsSync(oldCopy), 60_000);
  } finally {
    await page.close();
  }
  await api('POST', `/instances/${id}/terminate`, token, {});
});
