// schemathesis fuzzes every API operation against our OpenAPI document, as
// a signed-in buyer and seller: generated valid and invalid requests, with
// all of its checks (no 5xx, only documented statuses and content types,
// responses that match their schemas, invalid data refused, valid data
// accepted). Bounded and seeded, so a run is repeatable.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, addCard, apiRequest, ensureBuilt, startServer } from './harness.mjs';

const SCHEMATHESIS = join(ROOT, 'target', 'schemathesis-venv', 'bin', 'schemathesis');

let server;
after(async () => server?.stop());

test('every API operation holds to its OpenAPI document under schemathesis', { timeout: 15 * 60_000 }, async () => {
  assert.ok(existsSync(SCHEMATHESIS), 'schemathesis is missing: run `scripts/schemathesis.sh install`');
  ensureBuilt();
  server = await startServer({
    args: ({ dir, baseURL }) => ['--demo', '--demo-agents-dir', join(dir, 'agents'), '--public-url', baseURL],
    fuzzed: true,
  });
  const { token } = await apiRequest(server.baseURL, 'POST', '/accounts', null, {
    email: 'fuzz@example.com',
    password: 'a long fuzzing password',
    display_name: 'Fuzz Tester',
    roles: ['buyer', 'seller'],
  });
  await addCard(server.baseURL, token);

  const report = join(ARTIFACTS, 'schemathesis');
  mkdirSync(report, { recursive: true });
  const child = spawn(SCHEMATHESIS, [
    '--config-file', join(ROOT, 'e2e', 'schemathesis.toml'),
    'run', `${server.baseURL}/api/v1/openapi.json`,
    '--url', `${server.baseURL}/api/v1`,
    '--checks', 'all',
    '--max-examples', '25',
    '--seed', '20261204',
    '--workers', '1',
    '--header', `Authorization: Bearer ${token}`,
    // Signing out would end the session every other operation runs in.
    '--exclude-operation-id', 'sign_out',
    '--exclude-operation-id', 'sign_out_everywhere',
    '--report', 'junit', '--report-dir', report,
  ], {
    // schemathesis keeps a cache of past failures in its working directory:
    // run in the server's scratch one, so that each run starts afresh.
    cwd: server.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const output = [];
  child.stdout.on('data', (d) => output.push(d.toString()));
  child.stderr.on('data', (d) => output.push(d.toString()));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, `schemathesis found failures:\n${output.join('')}`);
});
