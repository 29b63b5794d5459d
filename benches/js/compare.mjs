// The official JS client `@cloudbase/oauth` (exact version pinned in package.json and
// package-lock.json) versus this crate, against the same emulator process.
//
//   npm ci && node compare.mjs          (or: bash benches/run.sh, which builds what is needed)
//
// Needs the release builds of the emulator and of the Rust side:
//   cargo build --release -p cloudbase-auth-emulator --example bench_client
// Paths (relative to this folder) can be overridden with EMULATOR_BIN and BENCH_CLIENT.
// Sizes: CALLS (sequential user/me calls, default 2000), CYCLES (sign-in + refresh cycles,
// default 200), ROUNDS (JS and Rust alternate this many times, default 3; medians reported).
//
// Work, identical on both sides, each timed inside its own process (start-up excluded):
// - sign in once, WARMUP (200) untimed `user/me` calls;
// - CALLS sequential `GET /auth/v1/user/me`:
//     JS   `authApi.getUserInfo()`          Rust `session.me()`
// - CYCLES sign-in + refresh cycles (`POST /auth/v1/signin` then `POST /auth/v1/token`):
//     JS   `authApi.signIn({username, password})` then `authApi.refreshTokenForce({})`
//     Rust `session.sign_in_with_password(..)`    then `session.refresh()`
// The emulator's request counters are read around each run to show that both clients put
// the same requests on the wire.
//
// The JS client is constructed as in emulator/js-conformance: `new CloudbaseOAuth({apiOrigin,
// clientId, env, storage})` with an in-memory storage (getItem/setItem/removeItem and *Sync
// twins), since Node has no window.localStorage. Node 20's global fetch (undici) keeps
// connections alive, as reqwest does.

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const { CloudbaseOAuth } = await import('@cloudbase/oauth');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EMULATOR_BIN = path.resolve(HERE, process.env.EMULATOR_BIN || '../../target/release/cloudbase-auth-emulator');
const BENCH_CLIENT = path.resolve(HERE, process.env.BENCH_CLIENT || '../../target/release/examples/bench_client');
const CALLS = Number(process.env.CALLS || 2000);
const CYCLES = Number(process.env.CYCLES || 200);
const ROUNDS = Number(process.env.ROUNDS || 3);
const WARMUP = 200;
const ENV_ID = 'demo-env';
const PASSWORD = 'Bench-pw-2024!';
const GOAL = 3;

for (const [what, file] of [['emulator', EMULATOR_BIN], ['bench client', BENCH_CLIENT]]) {
  if (!existsSync(file)) {
    console.error(`${what} not found at ${file}; build it with ` +
      '`cargo build --release -p cloudbase-auth-emulator --example bench_client`');
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------
// The emulator process.
// ---------------------------------------------------------------------------------------
function startEmulator() {
  return new Promise((resolve, reject) => {
    const child = spawn(EMULATOR_BIN, ['--port', '0', '--fast-hashing'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${out}`)), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, baseUrl: m[1].replace(/\/+$/, '') });
      }
    });
    child.on('exit', (code) => reject(new Error(`emulator exited (${code}):\n${out}`)));
  });
}

async function control(baseUrl, method, p, body) {
  const res = await fetch(`${baseUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${p}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function requestCounts(baseUrl) {
  return (await control(baseUrl, 'GET', '/emulator/v1/requests')).counts ?? {};
}

function diffCounts(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Both clients.
// ---------------------------------------------------------------------------------------
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

function stats(latencies, totalMs) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: latencies.length,
    total_ms: totalMs,
    per_s: latencies.length / (totalMs / 1000),
    p50_us: sorted[Math.floor(sorted.length / 2)] * 1000,
  };
}

async function runJs(baseUrl, username) {
  const oauth = new CloudbaseOAuth({ apiOrigin: baseUrl, clientId: ENV_ID, env: ENV_ID, storage: memoryStorage() });
  oauth.initializeSession();
  const auth = oauth.authApi;
  await auth.signIn({ username, password: PASSWORD });
  for (let i = 0; i < WARMUP; i++) await auth.getUserInfo();

  let lat = [];
  let start = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const me = await auth.getUserInfo();
    if (me.username !== username) throw new Error(`user/me answered ${JSON.stringify(me)}`);
    lat.push(performance.now() - t);
  }
  const userMe = stats(lat, performance.now() - start);

  lat = [];
  start = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const t = performance.now();
    await auth.signIn({ username, password: PASSWORD });
    const refreshed = await auth.refreshTokenForce({});
    if (!refreshed?.access_token) throw new Error(`refresh failed: ${JSON.stringify(refreshed)}`);
    lat.push(performance.now() - t);
  }
  const cycle = stats(lat, performance.now() - start);
  return { client: '@cloudbase/oauth 3.3.3 (Node ' + process.version + ')', user_me: userMe, sign_in_refresh_cycle: cycle };
}

async function runRust(baseUrl, username) {
  const { stdout } = await promisify(execFile)(BENCH_CLIENT, [
    '--base-url', baseUrl, '--client-id', ENV_ID, '--username', username, '--password', PASSWORD,
    '--calls', String(CALLS), '--cycles', String(CYCLES), '--warmup', String(WARMUP),
  ]);
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------------------------------------------------------------------------------------
// Main: alternate JS and Rust ROUNDS times against one emulator.
// ---------------------------------------------------------------------------------------
const { child, baseUrl } = await startEmulator();
try {
  const results = { js: [], rust: [] };
  const wire = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? ['js', 'rust'] : ['rust', 'js']) {
      const username = `bench_${side}_${round}`;
      await control(baseUrl, 'POST', '/emulator/v1/users', { username, password: PASSWORD, name: username });
      const before = await requestCounts(baseUrl);
      const result = side === 'js' ? await runJs(baseUrl, username) : await runRust(baseUrl, username);
      wire[side] = diffCounts(before, await requestCounts(baseUrl));
      results[side].push(result);
      console.log(`round ${round + 1} ${side.padEnd(4)} user/me ${result.user_me.per_s.toFixed(0)}/s ` +
        `(p50 ${result.user_me.p50_us.toFixed(0)} µs), sign-in+refresh ${result.sign_in_refresh_cycle.per_s.toFixed(0)}/s ` +
        `(p50 ${result.sign_in_refresh_cycle.p50_us.toFixed(0)} µs)`);
    }
  }
  console.log(`requests on the wire in one run: js ${JSON.stringify(wire.js)}; rust ${JSON.stringify(wire.rust)}`);
  const m = (side, op, field) => median(results[side].map((r) => r[op][field]));
  console.log(`\n== official JS client vs this crate (medians of ${ROUNDS} rounds; ${CALLS} calls, ${CYCLES} cycles) ==`);
  console.log(`js:   ${results.js[0].client}`);
  console.log(`rust: ${results.rust[0].client}`);
  for (const op of ['user_me', 'sign_in_refresh_cycle']) {
    const js = m('js', op, 'per_s');
    const rust = m('rust', op, 'per_s');
    const ratio = rust / js;
    const p50 = m('js', op, 'p50_us') / m('rust', op, 'p50_us');
    console.log(`${op.padEnd(22)} js ${js.toFixed(0).padStart(6)}/s  rust ${rust.toFixed(0).padStart(6)}/s`);
    console.log(`RESULT js_compare ${op} throughput_ratio_rust_over_js=${ratio.toFixed(2)} ` +
      `p50_ratio_js_over_rust=${p50.toFixed(2)} (goal >= ${GOAL} ${ratio >= GOAL ? 'met' : 'MISSED'})`);
  }
} finally {
  child.kill('SIGTERM');
}
