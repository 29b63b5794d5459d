// Generates ticket-vectors.json: custom-login tickets minted by @cloudbase/node-sdk 3.18.3's
// own `auth().createTicket(uid, options)` under a frozen clock, from the dev-only key file in
// tests/fixtures/custom-login/. RS256 (PKCS#1 v1.5) is deterministic, so the crate's
// `CustomLoginKey::create_ticket` must produce the same bytes (tests/server_tickets.rs), and
// the emulator must sign them in. .ci/run regenerates the file and fails if it changes.
//
//   node ticket-vectors.mjs > ticket-vectors.json
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { atTime } from './frozen-clock.mjs';

const require = createRequire(import.meta.url);
const tcb = require('@cloudbase/node-sdk');

const keyFile = new URL('../fixtures/custom-login/dev-only-key.json', import.meta.url);
const credentials = JSON.parse(readFileSync(keyFile, 'utf8'));
const app = tcb.init({ env: credentials.env_id, credentials, secretId: 'unused', secretKey: 'unused' });

function createTicketAt(nowMs, uid, options) {
  return atTime(nowMs, () => app.auth().createTicket(uid, options === undefined ? undefined : { ...options }));
}

const cases = [
  ['default_options', 1700000000123, 'user-0001', undefined],
  ['every_allowed_character', 1700000000123, 'aZ09_-#@~=*(){}[]:.,<>+', undefined],
  ['shortest_uid', 1710028799999, 'abcd', undefined],
  ['longest_uid', 1710028800000, 'u'.repeat(32), undefined],
  ['custom_refresh', 1700000000123, 'user-0002', { refresh: 60000 }],
  ['custom_expire', 1700000000123, 'user-0003', { expire: 1700086400123 }],
  ['custom_refresh_and_expire', 1700000000123, 'user-0004', { refresh: 7200000, expire: 1800000000000 }],
];

const vectors = cases.map(([name, nowMs, uid, options]) => ({
  name,
  now_ms: nowMs,
  uid,
  refresh_ms: options?.refresh ?? null,
  expire_ms: options?.expire ?? null,
  ticket: createTicketAt(nowMs, uid, options),
}));

// uids createTicket refuses (its checkCustomUserIdRegex).
const refused = ['abc', 'u'.repeat(33), 'has space', 'slash/uid', 'ünïcode', 'quote"uid'].filter((uid) => {
  try { createTicketAt(1700000000123, uid); return false; } catch { return true; }
});

process.stdout.write(`${JSON.stringify({
  generator: 'tests/js-oracle/ticket-vectors.mjs',
  packages: { '@cloudbase/node-sdk': require('@cloudbase/node-sdk/package.json').version },
  key_file: 'tests/fixtures/custom-login/dev-only-key.json',
  vectors,
  refused_uids: refused,
}, null, 2)}\n`);
