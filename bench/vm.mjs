// Benchmark, not a test: how long a buyer waits for a real machine, and
// what a machine costs its host. The release server with the demo market
// and its lab host (this machine, the qemu driver, the test image), then
// through the API: order → "running" → the first SSH login that works,
// with a cold image cache (the lab host fetches the image from the server)
// and then with the image cached (a second order while the first runs);
// each QEMU's resident memory once its guest is up; and cold migration:
// the machine's host drained (the other lab host takes it, disk and all)
// until it answers SSH there, against how much the buyer wrote to its disk.
//
//   node bench/vm.mjs [ROUNDS]     (bench/vm.sh builds first)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoMarket, addCard, apiRequest, until, DEMO_BUYER } from '../e2e/harness.mjs';

const rounds = Number(process.argv[2] ?? 3);
const LAB = 'Sparecloud Lab (this machine)';
const LAB_SELLER = { email: 'lab@sparecloud.dev', password: DEMO_BUYER.password };
/** MiB the buyer writes to the disk before each move. */
const WRITES_MIB = [0, 64, 256];

const keys = mkdtempSync(join(tmpdir(), 'sparecloud-bench-key-'));
const key = join(keys, 'id_ed25519');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();

function ssh(user, address, command, timeout = 15_000) {
  const [host, port] = address.split(':');
  return spawnSync('ssh', ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', '-i', key, '-p', port,
    `${user}@${host}`, command], { timeout });
}
const sshWorks = (user, address) => ssh(user, address, 'true').status === 0;

/** Bytes the overlay of instance `id` takes on whichever host has it running. */
function overlayMib(agentsDir, id) {
  for (const host of readdirSync(agentsDir)) {
    const disk = join(agentsDir, host, 'vms', id, 'disk.qcow2');
    if (existsSync(join(agentsDir, host, 'vms', id, 'qemu.pid')) && existsSync(disk)) {
      return statSync(disk).size / (1 << 20);
    }
  }
  return NaN;
}

/** RSS of the QEMU of instance `id`, in MiB. */
function qemuRssMib(agentsDir, id) {
  for (const host of readdirSync(agentsDir)) {
    const pidfile = join(agentsDir, host, 'vms', id, 'qemu.pid');
    if (!existsSync(pidfile)) continue;
    const status = readFileSync(`/proc/${readFileSync(pidfile, 'utf8').trim()}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
  }
  return NaN;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cold = [];
const warm = [];
const rss = [];
const moves = WRITES_MIB.map(() => []);
const overlays = WRITES_MIB.map(() => []);
for (let round = 0; round < rounds; round++) {
  // A fresh market each round: the lab host's image cache starts empty.
  const server = await startDemoMarket({ qemuHost: true });
  const api = (...call) => apiRequest(server.baseURL, ...call);
  try {
    const { token } = await api('POST', '/sessions', null, DEMO_BUYER);
    const card = await addCard(server.baseURL, token);
    const offer = await until('the lab offer', async () =>
      (await api('GET', '/offers?zone=lab-local', null)).items.find((o) => o.seller_name === LAB));
    // The lab host says it can run the test image once it has the catalog.
    const order = async () => {
      const quote = await until('a quote the lab can run', async () => {
        try {
          return await api('POST', '/quotes', token, {
            offer_id: offer.id, image_id: 'sparecloud-test', sla_tier: offer.sla_tier, flavor_id: 's1.small', count: 1,
          });
        } catch { return null; }
      });
      const started = performance.now();
      const placed = await api('POST', '/orders', token,
        { quote_id: quote.id, payment_method_id: card.id, ssh_public_key: publicKey },
        { 'Idempotency-Key': `bench-${quote.id}` });
      const id = placed.instances[0].id;
      const running = await until('running', async () => {
        const { instance } = await api('GET', `/instances/${id}`, token);
        return instance.status === 'running' && instance.address ? instance : null;
      }, 300_000);
      await until('an SSH login', async () => sshWorks(running.ssh_user, running.address), 300_000);
      return { id, seconds: (performance.now() - started) / 1000 };
    };
    const first = await order();
    cold.push(first.seconds);
    const second = await order();
    warm.push(second.seconds);
    const agentsDir = join(server.dir, 'agents');
    rss.push(qemuRssMib(agentsDir, first.id), qemuRssMib(agentsDir, second.id));
    console.log(`round ${round + 1}: cold cache ${first.seconds.toFixed(1)} s, image cached ${second.seconds.toFixed(1)} s`);

    // Cold migration: room on the other host, then move the first machine
    // back and forth, writing more to its disk each time.
    await api('POST', `/instances/${second.id}/terminate`, token, {});
    await until('the second machine to be gone', async () =>
      (await api('GET', `/instances/${second.id}`, token)).instance.status === 'terminated', 60_000);
    const { token: sellerToken } = await api('POST', '/sessions', null, LAB_SELLER);
    for (const [i, mib] of WRITES_MIB.entries()) {
      let { instance } = await api('GET', `/instances/${first.id}`, token);
      if (mib > 0) {
        // Past the partitions, so the overlay grows by what is written.
        const wrote = ssh(instance.ssh_user, instance.address,
          `dd if=/dev/urandom of=/dev/vda bs=1M seek=${1024 + i * 512} count=${mib} conv=fsync 2>/dev/null`, 600_000);
        if (wrote.status !== 0) throw new Error(`dd failed: ${wrote.stderr}`);
      }
      overlays[i].push(overlayMib(agentsDir, first.id));
      const host = (await api('GET', '/seller/hosts', sellerToken)).find((h) => h.instances > 0 && h.status === 'online');
      const started = performance.now();
      await api('POST', `/seller/hosts/${host.id}/drain`, sellerToken, {});
      instance = await until('running on the other host', async () => {
        const now = (await api('GET', `/instances/${first.id}`, token)).instance;
        return now.status === 'running' && now.address && now.address !== instance.address ? now : null;
      }, 600_000);
      await until('an SSH login after the move', async () => sshWorks(instance.ssh_user, instance.address), 300_000);
      moves[i].push((performance.now() - started) / 1000);
      await api('POST', `/seller/hosts/${host.id}/resume`, sellerToken, {});
      console.log(`  move after writing ${mib} MiB (overlay ${overlays[i].at(-1).toFixed(0)} MiB): ${moves[i].at(-1).toFixed(1)} s`);
    }
  } finally {
    await server.stop();
  }
}
rmSync(keys, { recursive: true, force: true });

console.log(`order placed → SSH login, cold image cache: median ${median(cold).toFixed(1)} s (${cold.map((s) => s.toFixed(1)).join(', ')})`);
console.log(`order placed → SSH login, image cached:     median ${median(warm).toFixed(1)} s (${warm.map((s) => s.toFixed(1)).join(', ')})`);
console.log(`QEMU resident memory per machine (1 GiB guest, idle busybox): median ${median(rss).toFixed(0)} MiB`);
for (const [i, mib] of WRITES_MIB.entries()) {
  console.log(`cold migration (drain → SSH login on the other host), ${mib} MiB written, overlay ~${median(overlays[i]).toFixed(0)} MiB: median ${median(moves[i]).toFixed(1)} s (${moves[i].map((s) => s.toFixed(1)).join(', ')})`);
}
