// A custom-login ticket minted by the Rust crate (`cloudbase-auth ticket`, i.e.
// `CustomLoginKey::create_ticket`) signs in through the official `@cloudbase/oauth` 3.3.3
// `signInWithCustomTicket`, against an emulator that holds the key's public half (given in its
// `--config` file). A ticket from another key is refused.
//
// Run: `node --test custom-ticket.test.mjs` after `npm ci` here and
// `cargo build -p cloudbase-auth-emulator -p cloudbase-auth-cli`. Binaries: EMULATOR_BIN and
// CLOUDBASE_AUTH_BIN (defaults: ../../target/debug/{cloudbase-auth-emulator,cloudbase-auth}).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const bin = (envName, name) => path.resolve(HERE, process.env[envName] || `../../target/debug/${name}`);
const EMULATOR_BIN = bin('EMULATOR_BIN', 'cloudbase-auth-emulator');
const CLI_BIN = bin('CLOUDBASE_AUTH_BIN', 'cloudbase-auth');
const FIXTURES = path.resolve(HERE, '../../tests/fixtures/custom-login');
const ENV_ID = 'demo-env';

let emulator;
let baseUrl;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'custom-ticket-'));

before(async () => {
  const config = path.join(scratch, 'emulator.json');
  writeFileSync(config, JSON.stringify({
    custom_login_keys: [{
      private_key_id: 'dev-only-key-1',
      public_key: readFileSync(path.join(FIXTURES, 'dev-only-public.pem'), 'utf8'),
    }],
  }));
  emulator = spawn(EMULATOR_BIN, ['--port', '0', '--fast-hashing', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  baseUrl = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no address within 30 s:\n${out}`)), 30_000);
    emulator.stdout.setEncoding('utf8');
    emulator.stderr.setEncoding('utf8');
    emulator.stderr.on('data', (chunk) => { out += chunk; });
    emulator.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    emulator.on('exit', (code) => reject(new Error(`emulator exited (${code}):\n${out}`)));
  });
});

after(() => {
  emulator?.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/** A ticket minted by the crate, through the CLI. */
function crateTicket(keyFile, uid) {
  return execFileSync(CLI_BIN, ['ticket', '--key-file', path.join(FIXTURES, keyFile), '--uid', uid], {
    encoding: 'utf8',
  }).trim();
}

const { CloudbaseOAuth } = await import('@cloudbase/oauth');

function memoryStorage() {
  const m = new Map();
  return {
    async getItem(k) { return m.has(k) ? m.get(k) : null; },
    async setItem(k, v) { m.set(k, String(v)); },
    async removeItem(k) { m.delete(k); },
    getItemSync(k) { return m.has(k) ? m.get(k) : null; },
    setItemSync(k, v) { m.set(k, String(v)); },
    removeItemSync(k) { m.delete(k); },
  };
}

async function signInWithTicket(ticket) {
  const oauth = new CloudbaseOAuth({ apiOrigin: baseUrl, clientId: ENV_ID, env: ENV_ID, storage: memoryStorage() });
  oauth.initializeSession();
  oauth.authApi.setCustomSignFunc(async () => ticket);
  return oauth.authApi.signInWithCustomTicket();
}

test('a ticket minted by the crate signs in through signInWithCustomTicket', async () => {
  const ticket = crateTicket('dev-only-key.json', 'crate-user-0001');
  assert.match(ticket, /^dev-only-key-1\/@@\/[\w-]+\.[\w-]+\.[\w-]+$/);
  const first = await signInWithTicket(ticket);
  assert.ok(first.access_token, `credentials: ${JSON.stringify(Object.keys(first))}`);
  assert.ok(first.refresh_token, 'a custom-login session has a refresh token');
  const again = await signInWithTicket(crateTicket('dev-only-key.json', 'crate-user-0001'));
  assert.equal(again.sub, first.sub, 'the same uid signs in the same user');
  const other = await signInWithTicket(crateTicket('dev-only-key.json', 'crate-user-0002'));
  assert.notEqual(other.sub, first.sub);
});

test('a ticket signed by another key is refused', async () => {
  const forged = crateTicket('forger-key.json', 'crate-user-0001');
  await assert.rejects(signInWithTicket(forged), (error) => {
    assert.equal(error.error, 'invalid_grant', JSON.stringify(error));
    return true;
  });
});
