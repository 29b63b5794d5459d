// Conformance test: the official CloudBase JS auth client `@cloudbase/oauth` (pinned in
// package.json) against the local CloudBase Auth v1 emulator.
//
// Run: `node --test conformance.test.mjs` (or ./run.sh). The emulator binary must be built:
//   EMULATOR_BIN (default ../../target/debug/cloudbase-auth-emulator, relative to this folder)
// is started with `--port 0 --fast-hashing`; its stdout line `listening on http://127.0.0.1:PORT`
// gives the base URL. The client is constructed the way the project's reference observed it:
//   new CloudbaseOAuth({ apiOrigin, clientId, env, storage })
// and exercised through `.authApi` (class `Auth` in the package's src/auth/apis.ts).
//
// Node shims (why, and nothing more):
// - fetch: Node 20 has a global fetch; the client's default request function uses it. We wrap it
//   only to RECORD traffic (method, URL, headers, body, status, response) for diagnostics and
//   for assertions about which calls the client made. It changes nothing in the requests; it
//   only adds a 10 s abort timeout so that no call can hang the suite.
// - storage: the client's default storage is `window.localStorage`, which Node lacks. We pass an
//   in-memory `storage` (getItem/setItem/removeItem and their *Sync twins) instead of shimming
//   window. The client touches `window`, `sessionStorage` and `navigator` elsewhere only inside
//   try/catch blocks (URL-hash handling, mini-program detection), so no shim is needed for them.
// - Date: see the clock section below.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EMULATOR_BIN = path.resolve(
  HERE,
  process.env.EMULATOR_BIN || '../../target/debug/cloudbase-auth-emulator',
);
const SPEC_PATH = path.resolve(HERE, '../../spec/cloudbase-auth-v1.yaml');
const ENV_ID = 'demo-env'; // emulator default env id; default client id = env id, no secret
const STARTUP_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 30_000;
const FETCH_TIMEOUT_MS = 10_000;
const ACCESS_TOKEN_TTL_S = 7200;
const ADVANCE_S = ACCESS_TOKEN_TTL_S + 120; // past access-token expiry, far inside refresh-token life

// ---------------------------------------------------------------------------------------------
// Client clock.
// The emulator's clock is advanced through its control API, but the JS client decides whether its
// stored token is expired with ITS OWN clock: it stores `expires_at = new Date(Date.now() +
// (expires_in - 30) * 1000)` and tests `expires_at < new Date()` (src/oauth2client/oauth2client.ts,
// `setCredentials` and `isCredentialsExpired`). Note `new Date()` with no argument does NOT go
// through `Date.now`, so faking `Date.now` alone is not enough: we replace the global `Date` with
// a subclass whose "now" (both `Date.now()` and the no-argument constructor) is real time plus
// `clientClockOffsetMs`. Every time the test advances the emulator clock it advances this offset
// by the same amount, so client and emulator always agree on the time.
// ---------------------------------------------------------------------------------------------
const RealDate = globalThis.Date;
let clientClockOffsetMs = 0;
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + clientClockOffsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + clientClockOffsetMs;
  }
}
globalThis.Date = ShiftedDate;

// ---------------------------------------------------------------------------------------------
// Traffic recorder (wraps the global fetch used by the client; see header comment).
// ---------------------------------------------------------------------------------------------
const realFetch = globalThis.fetch;
const traffic = [];
globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === 'string' ? input : input.url;
  const opts = { ...init };
  if (!opts.signal) opts.signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const entry = {
    method: (opts.method || 'GET').toUpperCase(),
    url,
    headers: { ...(opts.headers || {}) },
    body: opts.body ?? null,
  };
  // Record the Content-Type that fetch will really send (it labels a string body text/plain
  // when the caller sets none, which the client never does).
  if (!Object.keys(entry.headers).some((k) => k.toLowerCase() === 'content-type')) {
    const effective = new Request(url, { method: entry.method, body: opts.body }).headers.get('content-type');
    if (effective) entry.headers['content-type (added by fetch)'] = effective;
  }
  traffic.push(entry);
  try {
    const res = await realFetch(input, opts);
    entry.status = res.status;
    entry.response = await res.clone().text();
    return res;
  } catch (err) {
    entry.error = String(err);
    throw err;
  }
};

function trafficSince(mark) {
  return traffic.slice(mark);
}

function describeTraffic(entries) {
  return entries
    .map((e) => {
      const hdrs = Object.entries(e.headers)
        .map(([k, v]) => `${k}: ${k.toLowerCase() === 'authorization' ? shorten(String(v)) : v}`)
        .join('; ');
      return `${e.method} ${e.url}\n    headers: ${hdrs}\n    body: ${e.body}\n    -> ${
        e.status ?? e.error
      } ${shorten(e.response ?? '', 400)}`;
    })
    .join('\n');
}

function shorten(s, n = 40) {
  return s.length > n ? `${s.slice(0, n)}...(${s.length} chars)` : s;
}

function pathOf(url) {
  return new URL(url).pathname;
}

// ---------------------------------------------------------------------------------------------
// Emulator process.
// ---------------------------------------------------------------------------------------------
let emulator = null;
let baseUrl = null;
let emulatorOutput = '';

function killEmulator() {
  if (emulator && emulator.exitCode === null && emulator.signalCode === null) {
    emulator.kill('SIGKILL');
  }
}
// Last-resort cleanup if the runner dies without reaching `after`.
process.on('exit', killEmulator);

function startEmulator() {
  return new Promise((resolve, reject) => {
    if (!existsSync(EMULATOR_BIN)) {
      reject(
        new Error(
          `emulator binary not found at ${EMULATOR_BIN}; build it with ` +
            '`cargo build -p cloudbase-auth-emulator` or set EMULATOR_BIN',
        ),
      );
      return;
    }
    // Strict mode: the emulator validates every /auth/v1 request against the spec and answers
    // 400 naming the operation and JSON pointer of anything the spec does not describe.
    const child = spawn(EMULATOR_BIN, ['--port', '0', '--fast-hashing'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLOUDBASE_EMULATOR_STRICT_SPEC: SPEC_PATH },
    });
    emulator = child;
    let settled = false;
    let stdoutBuf = '';
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      killEmulator();
      reject(new Error(`emulator did not print its address within ${STARTUP_TIMEOUT_MS} ms:\n${emulatorOutput}`));
    }, STARTUP_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      emulatorOutput += chunk;
      stdoutBuf += chunk;
      // Strip ANSI colour codes in case the line is printed through a coloured logger.
      const m = stdoutBuf.replace(/\x1b\[[0-9;]*m/g, '').match(/listening on (https?:\/\/[^\s"']+)/);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve(m[1].replace(/\/+$/, ''));
      }
    });
    child.stderr.on('data', (chunk) => {
      emulatorOutput += chunk;
    });
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`emulator exited early (code ${code}, signal ${signal}):\n${emulatorOutput}`));
    });
  });
}

async function stopEmulator() {
  if (!emulator || emulator.exitCode !== null || emulator.signalCode !== null) return;
  const exited = new Promise((resolve) => emulator.once('exit', resolve));
  emulator.kill('SIGTERM');
  const t = setTimeout(killEmulator, 5_000);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------------
// Emulator control API (emulator-only; not part of Auth v1). Uses the real fetch, not recorded.
// ---------------------------------------------------------------------------------------------
async function control(method, p, body) {
  const res = await realFetch(`${baseUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  assert.ok(res.ok, `control ${method} ${p} -> HTTP ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function seedUser(user) {
  return control('POST', '/emulator/v1/users', user);
}

async function advanceClocks(seconds) {
  await control('POST', '/emulator/v1/clock/advance', { seconds });
  clientClockOffsetMs += seconds * 1000;
}

async function sentCodes() {
  const body = await control('GET', '/emulator/v1/codes');
  const list = Array.isArray(body) ? body : body?.codes ?? body?.data ?? body?.items;
  assert.ok(Array.isArray(list), `unexpected /emulator/v1/codes shape: ${JSON.stringify(body)}`);
  return list;
}

// Count of requests to one Auth v1 operation (by its OpenAPI operation id, e.g. `grant_token`,
// or by method + path), from GET /emulator/v1/requests.
// Returns null when the shape is not understood (the caller then relies on other evidence).
async function requestCount(operationId, method, apiPath) {
  const body = await control('GET', '/emulator/v1/requests');
  return extractCount(body, operationId, method, apiPath);
}

function extractCount(body, operationId, method, apiPath) {
  // The emulator's shape: {"counts": {"<operation id>": n, ...}}; absent key = 0 requests.
  if (body?.counts && typeof body.counts === 'object' && !Array.isArray(body.counts)) {
    return Number(body.counts[operationId] ?? 0);
  }
  const wantKeys = [operationId, `${method} ${apiPath}`, apiPath];
  const list = Array.isArray(body) ? body : body?.requests ?? body?.counts ?? body?.operations ?? body;
  if (Array.isArray(list)) {
    let found = null;
    for (const row of list) {
      const m = (row.method || '').toUpperCase();
      const p = row.operation_id || row.operation || row.id || row.path || row.route || row.key;
      if (p === operationId || ((!m || m === method) && (p === apiPath || p === `${method} ${apiPath}`))) {
        found = (found ?? 0) + Number(row.count ?? row.n ?? 0);
      }
    }
    return found ?? 0;
  }
  if (list && typeof list === 'object') {
    for (const k of wantKeys) if (typeof list[k] === 'number') return list[k];
    // Keys in the same style (operation ids, "METHOD /path" or "/path") but none for this
    // operation yet: 0 requests.
    const keys = Object.keys(list);
    if (keys.length > 0 && keys.every((k) => /^[a-z][a-z0-9_]*$/.test(k) || /^([A-Z]+ )?\/\S*$/.test(k))) return 0;
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The official client.
// ---------------------------------------------------------------------------------------------
const { CloudbaseOAuth } = await import('@cloudbase/oauth');

function memoryStorage() {
  const m = new Map();
  return {
    map: m,
    async getItem(k) {
      return m.has(k) ? m.get(k) : null;
    },
    async setItem(k, v) {
      m.set(k, String(v));
    },
    async removeItem(k) {
      m.delete(k);
    },
    getItemSync(k) {
      return m.has(k) ? m.get(k) : null;
    },
    setItemSync(k, v) {
      m.set(k, String(v));
    },
    removeItemSync(k) {
      m.delete(k);
    },
  };
}

// Diagnostic switch, OFF by default: CONFORMANCE_FORCE_JSON_CONTENT_TYPE=1 makes the client send
// `Content-Type: application/json` (through its own documented `headers` option). Without it the
// client sends JSON bodies as `text/plain;charset=UTF-8` (it never sets a content type and fetch
// labels a string body text/plain), which is what real apps send and what this suite checks. The
// switch only exists to look past a server that rejects text/plain (see FINDINGS.md).
const FORCE_JSON = process.env.CONFORMANCE_FORCE_JSON_CONTENT_TYPE === '1';

// ---------------------------------------------------------------------------------------------
// Method coverage. Every public method of the client's `Auth` class (src/auth/apis.ts) that can
// send a request to /auth/v1 (directly or through another method), per the reference
// inventory shared/reference/sdk-3.3.3-vs-spec.md §2. A method counts as exercised when a call
// of it put at least one /auth/v1 request on the wire against the emulator.
// ---------------------------------------------------------------------------------------------
const SDK_METHODS = [
  'signIn', 'signInAnonymously', 'signUp', 'signOut', 'revokeAllDevices', 'revokeDevice',
  'getVerification', 'verify', 'genProviderRedirectUri', 'grantProviderToken', 'patchProviderToken',
  'signInWithProvider', 'toBindIdentity', 'getInitialSession', 'signInCustom', 'signInWithWechat',
  'bindWithProvider', 'getUserProfile', 'getUserInfo', 'getWedaUserInfo', 'deleteMe', 'transByProvider',
  'grantToken', 'getProviders', 'unbindProvider', 'checkPassword', 'editContact', 'setPassword',
  'updatePasswordByOld', 'sudo', 'sendVerificationCodeToCurrentUser', 'changeBoundProvider',
  'setUserProfile', 'updateUserBasicInfo', 'queryUserProfile', 'signInWithCustomTicket', 'resetPassword',
  'authorize', 'authorizeDevice', 'deviceAuthorize', 'authorizeInfo', 'checkUsername', 'checkIfUserExist',
  'refreshTokenForce', 'getProviderSubType', 'verifyCaptchaData', 'createCaptchaData', 'getMiniProgramCode',
  'getMiniProgramQrCodeStatus', 'getUserBehaviorLog', 'modifyPassword',
];
// Methods that cannot put a request on the wire from Node against any server, and why.
const CANNOT_RUN = {
  getInitialSession: 'browser only: returns at once without window/document (apis.ts:505-520)',
  checkUsername: 'sends a GET with a body, which fetch refuses before anything is sent (apis.ts:1041-1047)',
  modifyPassword: 'needs the client-side RSA encryption adapter and POST /auth/v2/signin/publichkey (apis.ts:1201-1238)',
};
const exercised = new Set();

function track(auth) {
  for (const name of SDK_METHODS) {
    const original = auth[name];
    assert.equal(typeof original, 'function', `Auth.${name} is not a method of this client build`);
    auth[name] = async function tracked(...args) {
      const mark = traffic.length;
      try {
        return await original.apply(this, args);
      } finally {
        if (trafficSince(mark).some((e) => pathOf(e.url).startsWith('/auth/v1/'))) exercised.add(name);
      }
    };
  }
  return auth;
}

function newClient() {
  const storage = memoryStorage();
  const options = { apiOrigin: baseUrl, clientId: ENV_ID, env: ENV_ID, storage };
  if (FORCE_JSON) options.headers = { 'Content-Type': 'application/json' };
  const oauth = new CloudbaseOAuth(options);
  oauth.initializeSession(); // what the upper layer (@cloudbase/auth) does after construction
  return { oauth, auth: track(oauth.authApi), storage };
}

let seq = 0;
function unique(prefix) {
  seq += 1;
  return `${prefix}${process.pid}x${seq}x${RealDate.now().toString(36)}`;
}
const PASSWORD = 'Conf0rmance-Pass!';

async function seededUser(extra = {}) {
  const username = unique('js_');
  const user = { username, password: PASSWORD, email: `${username}@example.com`, name: `JS ${username}`, ...extra };
  await seedUser(user);
  return user;
}

function assertCredentials(c, what) {
  assert.ok(c && typeof c === 'object', `${what}: no credentials object`);
  assert.equal(typeof c.access_token, 'string', `${what}: access_token`);
  assert.ok(c.access_token.length > 0, `${what}: empty access_token`);
  assert.equal(typeof c.expires_in, 'number', `${what}: expires_in must be a number (the client uses it to store the session)`);
  assert.ok(c.expires_in > 30, `${what}: expires_in ${c.expires_in}`);
  assert.match(String(c.token_type), /^bearer$/i, `${what}: token_type`);
}

// Calls the emulator directly (not via the client) with a bearer token; returns {status, body}.
async function rawUserMe(accessToken) {
  const res = await realFetch(`${baseUrl}/auth/v1/user/me`, {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

// Wraps a test body so that, on failure, the recorded traffic of that test is attached.
function withTraffic(fn) {
  return async (t) => {
    const mark = traffic.length;
    try {
      await fn(t, mark);
    } catch (err) {
      const log = describeTraffic(trafficSince(mark));
      const detail = err && typeof err === 'object' && !(err instanceof Error) ? JSON.stringify(err) : '';
      const e = err instanceof Error ? err : new Error(`client rejected with ${detail}`);
      e.message += `\n--- client traffic in this test ---\n${log || '(none)'}`;
      throw e;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.
// ---------------------------------------------------------------------------------------------
before(async () => {
  baseUrl = await startEmulator();
}, { timeout: STARTUP_TIMEOUT_MS + 5_000 });

after(async () => {
  await stopEmulator();
});

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------
test('(a) sign-in with username + password of a seeded user', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const user = await seededUser();
  const { oauth, auth, storage } = newClient();
  const creds = await auth.signIn({ username: user.username, password: user.password });
  assertCredentials(creds, 'signIn');
  assert.equal(typeof creds.refresh_token, 'string', 'signIn: refresh_token');
  assert.ok(creds.refresh_token.length > 0, 'signIn: empty refresh_token');

  // The client stored the session under credentials_<clientId> and now reports a login state.
  assert.ok(storage.map.has(`credentials_${ENV_ID}`), 'client did not store credentials');
  assert.equal(await auth.hasLoginState(), true);
  assert.equal(await oauth.oauth2client.getAccessToken(), creds.access_token);

  const signin = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/signin');
  assert.ok(signin, 'no POST /auth/v1/signin seen');
  assert.equal(new URL(signin.url).searchParams.get('client_id'), ENV_ID);
}));

test('(b) sign-up through an email verification code', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const username = unique('new_');
  const email = `${username}@example.com`;
  const { auth } = newClient();

  const sent = await auth.getVerification({ email, target: 'ANY', usage: 'REGISTER' });
  assert.equal(typeof sent?.verification_id, 'string', 'getVerification: verification_id');

  const codes = await sentCodes();
  const entry = codes.find((c) => c.verification_id === sent.verification_id) ??
    codes.filter((c) => c.target === email).at(-1);
  assert.ok(entry, `no code for ${email} in /emulator/v1/codes: ${JSON.stringify(codes)}`);
  assert.equal(typeof entry.code, 'string');

  const verified = await auth.verify({ verification_id: sent.verification_id, verification_code: entry.code });
  assert.equal(typeof verified?.verification_token, 'string', 'verify: verification_token');

  const creds = await auth.signUp({
    email,
    verification_token: verified.verification_token,
    username,
    password: PASSWORD,
    name: `JS ${username}`,
  });
  assertCredentials(creds, 'signUp');
  assert.equal(await auth.hasLoginState(), true);

  const me = await auth.getUserInfo();
  assert.equal(me.email, email, 'the new user carries the verified email');
}));

test('(c) anonymous sign-in', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const { auth } = newClient();
  const creds = await auth.signInAnonymously();
  assertCredentials(creds, 'signInAnonymously');
  assert.match(String(creds.scope), /\banonymous\b/, 'anonymous credentials carry scope "anonymous"');
  assert.equal(await auth.hasLoginState(), true);

  const me = await auth.getUserInfo();
  assert.equal(typeof me.sub, 'string', 'anonymous user has a sub');

  const call = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/signin/anonymously');
  assert.ok(call, 'no POST /auth/v1/signin/anonymously seen');
  assert.match(String(call.headers['x-device-id']), /^[0-9a-f]{32}$/, 'client sends x-device-id');

  // Same client (same device id) again: the emulator should keep one anonymous user per device.
  const again = await auth.signInAnonymously();
  const me2 = await auth.getUserInfo();
  assertCredentials(again, 'second signInAnonymously');
  assert.equal(me2.sub, me.sub, 'same x-device-id -> same anonymous user');
}));

test('(d) refresh: expired access token is refreshed transparently', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const user = await seededUser();
  const { auth } = newClient();
  const first = await auth.signIn({ username: user.username, password: user.password });
  assertCredentials(first, 'signIn');
  assert.ok(first.refresh_token, 'signIn must return a refresh_token for refresh to be possible');

  // Not expired yet: a call must not refresh.
  await auth.getUserInfo();
  assert.equal(
    trafficSince(mark).filter((e) => pathOf(e.url) === '/auth/v1/token').length,
    0,
    'client refreshed before expiry',
  );

  const tokenCallsBefore = await requestCount('grant_token', 'POST', '/auth/v1/token');

  // Move both clocks past the access-token expiry.
  await advanceClocks(ADVANCE_S);

  // The emulator itself must now reject the old access token (proves its clock moved).
  const stale = await rawUserMe(first.access_token);
  assert.ok(stale.status >= 400 || stale.body?.error, `old access token still accepted after +${ADVANCE_S}s: ${stale.status} ${stale.text}`);

  const refreshMark = traffic.length;
  const me = await auth.getUserInfo();
  assert.equal(me.username, user.username, 'user/me after refresh is the same user');

  const calls = trafficSince(refreshMark);
  const refresh = calls.find((e) => pathOf(e.url) === '/auth/v1/token');
  assert.ok(refresh, `client did not call POST /auth/v1/token; calls:\n${describeTraffic(calls)}`);
  assert.equal(refresh.method, 'POST');
  const refreshBody = JSON.parse(refresh.body);
  assert.equal(refreshBody.grant_type, 'refresh_token');
  assert.equal(refreshBody.refresh_token, first.refresh_token);
  assert.equal(refresh.status, 200, `refresh answered HTTP ${refresh.status}: ${refresh.response}`);

  const meCall = calls.filter((e) => pathOf(e.url) === '/auth/v1/user/me').at(-1);
  assert.ok(meCall, 'no GET /auth/v1/user/me after refresh');
  const now = await auth.getCredentials();
  assert.notEqual(now.access_token, first.access_token, 'access token did not change');
  assert.equal(meCall.headers.Authorization, `Bearer ${now.access_token}`, 'user/me used the new token');
  assert.ok(now.refresh_token && now.refresh_token !== first.refresh_token, 'refresh token rotates');

  const tokenCallsAfter = await requestCount('grant_token', 'POST', '/auth/v1/token');
  if (tokenCallsBefore === null || tokenCallsAfter === null) {
    t.diagnostic('could not read a POST /auth/v1/token count from /emulator/v1/requests; relied on traffic + token change');
  } else {
    assert.equal(tokenCallsAfter - tokenCallsBefore, 1, 'emulator counted exactly one refresh');
  }
}));

test('(e) get user info', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const user = await seededUser();
  const { auth } = newClient();
  const creds = await auth.signIn({ username: user.username, password: user.password });
  const me = await auth.getUserInfo();
  assert.equal(typeof me.sub, 'string', 'profile.sub');
  assert.equal(me.uid, me.sub, 'client copies sub into uid');
  if (creds.sub !== undefined) assert.equal(me.sub, creds.sub, 'profile.sub == credentials.sub');
  assert.equal(me.username, user.username);
  assert.equal(me.email, user.email);
  assert.equal(me.name, user.name);

  const call = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/user/me');
  assert.equal(call.method, 'GET');
  assert.equal(call.headers.Authorization, `Bearer ${creds.access_token}`);
}));

test('(f) sign-out with signOut() (POST /auth/v1/revoke)', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const user = await seededUser();
  const { auth, storage } = newClient();
  const creds = await auth.signIn({ username: user.username, password: user.password });
  await auth.signOut();

  const call = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/revoke');
  assert.ok(call, 'no POST /auth/v1/revoke seen');
  assert.equal(call.status, 200, `revoke answered HTTP ${call.status}: ${call.response}`);
  assert.equal(JSON.parse(call.body).token, creds.access_token);

  assert.equal(storage.map.has(`credentials_${ENV_ID}`), false, 'client cleared its session');
  assert.equal(await auth.hasLoginState(), false);
  const stale = await rawUserMe(creds.access_token);
  assert.ok(stale.status >= 400 || stale.body?.error, `revoked access token still accepted: ${stale.status} ${stale.text}`);
  await assert.rejects(auth.getUserInfo(), 'getUserInfo after signOut must fail');
}));

test('(f2) sign-out with signOut({}) (POST /auth/v1/user/signout)', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const user = await seededUser();
  const { auth, storage } = newClient();
  const creds = await auth.signIn({ username: user.username, password: user.password });
  // With an argument the client calls the bearer endpoint; it swallows errors there, so check the wire.
  await auth.signOut({});

  const call = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/user/signout');
  assert.ok(call, 'no POST /auth/v1/user/signout seen');
  assert.equal(call.status, 200, `user/signout answered HTTP ${call.status}: ${call.response}`);
  assert.equal(call.headers.Authorization, `Bearer ${creds.access_token}`);
  assert.ok(!/"error"/.test(call.response ?? ''), `user/signout answered an error: ${call.response}`);

  assert.equal(storage.map.has(`credentials_${ENV_ID}`), false, 'client cleared its session');
  const stale = await rawUserMe(creds.access_token);
  assert.ok(stale.status >= 400 || stale.body?.error, `signed-out access token still accepted: ${stale.status} ${stale.text}`);
}));

// ---------------------------------------------------------------------------------------------
// Every other method of the client that reaches /auth/v1 (issue #12). Provider flows use the
// emulator's stand-in provider: the provider code IS the provider-side user id.
// ---------------------------------------------------------------------------------------------
async function signedInClient() {
  const user = await seededUser();
  const client = newClient();
  const creds = await client.auth.signIn({ username: user.username, password: user.password });
  return { ...client, user, creds };
}

async function codeFor(target) {
  const codes = await sentCodes();
  const entry = codes.filter((c) => c.target === target).at(-1);
  assert.ok(entry, `no code sent to ${target}`);
  return entry.code;
}

async function verificationToken(auth, email) {
  const sent = await auth.getVerification({ email, target: 'ANY' });
  const verified = await auth.verify({ verification_id: sent.verification_id, verification_code: await codeFor(email) });
  return verified.verification_token;
}

const CUSTOM_LOGIN_FIXTURES = path.resolve(HERE, '../../tests/fixtures/custom-login');

function base64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

test('(g) device-code flow: deviceAuthorize, authorizeDevice, grantToken with device_code', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const device = newClient();
  await device.auth.signInAnonymously(); // 3.3.3 sends device/code with the session's bearer
  const started = await device.auth.deviceAuthorize({ scope: 'user' });
  assert.equal(typeof started.device_code, 'string');
  assert.equal(typeof started.verification_uri, 'string', '3.3.3 reads verification_uri');
  assert.equal(typeof started.interval, 'number');

  const phone = await signedInClient();
  await phone.auth.authorizeDevice({ user_code: started.user_code });

  const creds = await device.auth.grantToken({
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: started.device_code,
  });
  assertCredentials(creds, 'device-code grant');
  const me = await rawUserMe(creds.access_token);
  assert.equal(me.body.username, phone.user.username, 'the approving user is signed in on the device');
}));

test('(h) authorization code with PKCE: authorizeInfo, authorize, grantToken', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const signedOut = newClient();
  const infoSignedOut = await signedOut.auth.authorizeInfo({ client_id: ENV_ID, response_type: 'code' });
  assert.equal(infoSignedOut.client.id, ENV_ID);

  const { auth } = await signedInClient();
  const info = await auth.authorizeInfo({ client_id: ENV_ID, response_type: 'code', scope: 'user' });
  assert.ok(Array.isArray(info.scopes));
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  // 3.3.3 treats any success body with a truthy `code` as an error (oauth2client.ts:573-579),
  // so its own `authorize` rejects the answer it declares (AuthorizeResponse.code). The code is
  // read from the wire instead; see FINDINGS.md.
  const mark = traffic.length;
  await assert.rejects(
    auth.authorize({
      client_id: ENV_ID,
      response_type: 'code',
      state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }),
    (e) => typeof e.error === 'string' && e.error.startsWith('ac.'),
  );
  const answer = trafficSince(mark).find((e) => pathOf(e.url) === '/auth/v1/user/authorize');
  const code = JSON.parse(answer.response);
  assert.equal(answer.status, 200);
  assert.equal(code.state, 'st');
  const creds = await auth.grantToken({ grant_type: 'authorization_code', code: code.code, code_verifier: verifier });
  assertCredentials(creds, 'authorization-code grant');
}));

test('(i) mini-program QR code: getMiniProgramCode, scan, getMiniProgramQrCodeStatus, signInWithProvider', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const { auth } = newClient();
  const qr = await auth.getMiniProgramCode({ envId: ENV_ID, wxAppId: 'wx0123' });
  assert.match(qr.qr_code, /^data:image\//);
  const waiting = await auth.getMiniProgramQrCodeStatus({ qrCodeId: qr.qr_code_id, envId: ENV_ID, wxAppId: 'wx0123' });
  assert.equal(waiting.status, 'WAITING');
  await control('POST', '/emulator/v1/qrcode/scan', { qr_code_id: qr.qr_code_id, open_id: unique('o') });
  const scanned = await auth.getMiniProgramQrCodeStatus({ qrCodeId: qr.qr_code_id, envId: ENV_ID, wxAppId: 'wx0123' });
  assert.equal(scanned.status, 'SCANNED');
  const creds = await auth.signInWithProvider({ provider_token: scanned.provider_token });
  assertCredentials(creds, 'QR-code sign-in');
}));

test('(j) security history lists the sign-ins: getUserBehaviorLog LOGIN and MODIFY', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const { auth } = await signedInClient();
  const logins = await auth.getUserBehaviorLog({ type: 'LOGIN', limit: 10 });
  assert.ok(logins.data.length >= 1, JSON.stringify(logins));
  assert.equal(logins.data[0].action, 'USER_LOGIN');
  const changes = await auth.getUserBehaviorLog({ type: 'MODIFY', limit: 10 });
  assert.deepEqual(changes.data, []);
}));

test('(k) providers: genProviderRedirectUri, grantProviderToken, patchProviderToken, signInWithProvider, bind, list, unbind, transfer', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const { auth } = newClient();
  const uri = await auth.genProviderRedirectUri({ provider_id: 'github', redirect_uri: 'https://app.example.com/cb', state: 'st' });
  assert.equal(typeof uri.uri, 'string');
  const login = unique('gh');
  const granted = await auth.grantProviderToken({ provider_id: 'github', provider_code: login, provider_redirect_uri: 'https://app.example.com/cb' });
  const patched = await auth.patchProviderToken({
    provider_token: granted.provider_token,
    provider_id: 'github',
    provider_params: { code: `+86 139${String(Date.now()).slice(-8)}`, provider_code_type: 'phone_code' },
  });
  assert.equal(typeof patched.provider_profile.phone_number, 'string');
  assertCredentials(await auth.signInWithProvider({ provider_token: granted.provider_token, provider_id: 'github' }), 'provider sign-in');

  const other = await signedInClient();
  const google = await other.auth.grantProviderToken({ provider_id: 'google', provider_code: unique('g') });
  await other.auth.bindWithProvider({ provider_token: google.provider_token });
  const wx = await other.auth.grantProviderToken({ provider_id: 'wx_open', provider_code: unique('w') });
  const bound = await other.auth.toBindIdentity({ provider_token: wx.provider_token, provider: 'wx_open' });
  assert.equal(bound.error, null, JSON.stringify(bound));
  const providers = await other.auth.getProviders();
  assert.ok(providers.data.some((p) => p.id === 'google' && p.bind), JSON.stringify(providers));
  await other.auth.unbindProvider({ provider_id: 'google' });

  // The GitHub identity belongs to the user signed in above; move it to `other` twice over.
  const again = await other.auth.grantProviderToken({ provider_id: 'github', provider_code: login });
  const moved = await other.auth.changeBoundProvider({ provider_id: 'github', trans_token: again.provider_token });
  assert.equal(moved.client_id, ENV_ID);
  const third = await signedInClient();
  const once_more = await third.auth.grantProviderToken({ provider_id: 'github', provider_code: login });
  assertCredentials(await third.auth.transByProvider({ provider_token: once_more.provider_token }), 'transByProvider');
}));

test('(l) custom tickets and platform calls: signInCustom, signInWithCustomTicket, signInWithWechat, getWedaUserInfo, getProviderSubType', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  // The emulator checks tickets as CloudBase does: give it the public half of the dev-only key
  // (tests/fixtures/custom-login) and sign each ticket with the private half, as node-sdk does.
  const key = JSON.parse(readFileSync(path.join(CUSTOM_LOGIN_FIXTURES, 'dev-only-key.json'), 'utf8'));
  await control('PUT', '/emulator/v1/custom-login-keys', {
    private_key_id: key.private_key_id,
    public_key: readFileSync(path.join(CUSTOM_LOGIN_FIXTURES, 'dev-only-public.pem'), 'utf8'),
  });
  const now = Date.now();
  const ticket = () => {
    const claims = { alg: 'RS256', env: ENV_ID, iat: now, exp: now + 600_000, uid: unique('u').slice(0, 30), refresh: 3600000, expire: now + 7 * 86400000 };
    const unsigned = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url(claims)}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key).toString('base64url');
    return `${key.private_key_id}/@@/${unsigned}.${signature}`;
  };
  const { auth } = newClient();
  assertCredentials(await auth.signInCustom({ provider_id: 'custom', ticket: ticket() }), 'signInCustom');
  auth.setCustomSignFunc(async () => ticket());
  assertCredentials(await auth.signInWithCustomTicket(), 'signInWithCustomTicket');
  const weda = await auth.getWedaUserInfo();
  assert.equal(typeof weda.sub, 'string');
  const subType = await auth.getProviderSubType();
  assert.equal(subType.id, 'weda');
  // Outside WeChat's cloud functions there is no WeChat identity: upstream and the emulator refuse.
  await assert.rejects(newClient().auth.signInWithWechat(), (e) => e.error === 'permission_denied');
}));

test('(m) account: checkPassword, sudo, setPassword, updatePasswordByOld, editContact, profile edits, query, verification to current user', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const { auth, user, creds, storage } = await signedInClient();
  await auth.checkPassword({ password: user.password });
  const { sudo_token } = await auth.sudo({ password: user.password });
  const second = 'Second-Pass!2';
  await auth.setPassword({ new_password: second, sudo_token });
  await auth.signIn({ username: user.username, password: second });
  const third = 'Third-Pass!3';
  await auth.updatePasswordByOld({ old_password: second, new_password: third });
  await auth.signIn({ username: user.username, password: third });

  const email = `${unique('new_')}@example.com`;
  const token = await verificationToken(newClient().auth, email);
  const sudo2 = await auth.sudo({ password: third });
  await auth.editContact({ email, sudo_token: sudo2.sudo_token, verification_token: token });
  await advanceClocks(120); // past the resend cooldown of the code just sent to this address
  // This call always carries a captcha token (withCaptcha, captcha.ts:68-79); without one it
  // opens the SDK's DOM dialog, which Node lacks. Solve one through the API and store it where
  // the client keeps it (captcha.ts:56, 143-147).
  const captcha = await auth.createCaptchaData({ state: 'POST:/auth/v1/verification' });
  const { captchas } = await control('GET', '/emulator/v1/captcha');
  const solved = await auth.verifyCaptchaData({ token: captcha.token, key: captchas.find((c) => c.token === captcha.token).answer });
  storage.map.set(`captcha_${ENV_ID}`, JSON.stringify({ ...solved, expires_at: new Date(Date.now() + 200_000) }));
  const sent = await auth.sendVerificationCodeToCurrentUser({ email, usage: 'SIGN_IN' });
  assert.equal(typeof sent.verification_id, 'string');

  await auth.setUserProfile({ name: 'Renamed' });
  await auth.updateUserBasicInfo({ nickname: 'Nick' });
  const profile = await auth.getUserProfile({});
  assert.equal(profile.name, 'Nick', 'basic/edit nickname is the display name');
  const other = await seededUser();
  const otherMe = await newClient().auth.signIn({ username: other.username, password: other.password });
  const found = await auth.queryUserProfile({ id: [creds.sub ?? profile.sub, otherMe.sub] });
  assert.equal(found.total, 2, `3.3.3 reads total as a number: ${JSON.stringify(found)}`);
  assert.deepEqual(await auth.checkIfUserExist({ username: user.username }), { exist: true });
}));

test('(n) sign-up and reset: signUp with provider_token, resetPassword, deleteMe, revokeDevice, revokeAllDevices, refreshTokenForce, captcha', { timeout: TEST_TIMEOUT_MS }, withTraffic(async () => {
  const { auth } = newClient();
  const provider = await auth.grantProviderToken({ provider_id: 'github', provider_code: unique('su') });
  assertCredentials(await auth.signUp({ provider_token: provider.provider_token, username: unique('pt_') }), 'sign-up by provider token');

  const user = await seededUser();
  const resetToken = await verificationToken(newClient().auth, user.email);
  await newClient().auth.resetPassword({ email: user.email, new_password: 'Reset-Pass!9', verification_token: resetToken });
  const client = newClient();
  await client.auth.signIn({ username: user.username, password: 'Reset-Pass!9' });
  assertCredentials(await client.auth.refreshTokenForce({}), 'refreshTokenForce');
  await client.auth.revokeDevice({ device_id: 'ffffffffffffffffffffffffffffffff' });
  await client.auth.revokeAllDevices();

  const doomed = await signedInClient();
  const { sudo_token } = await doomed.auth.sudo({ password: doomed.user.password });
  await doomed.auth.deleteMe({ sudo_token });

  const captcha = await auth.createCaptchaData({ state: 'POST:/auth/v1/signin' });
  const answers = await control('GET', '/emulator/v1/captcha');
  const answer = answers.captchas.find((c) => c.token === captcha.token).answer;
  const solved = await auth.verifyCaptchaData({ token: captcha.token, key: answer });
  assert.equal(typeof solved.captcha_token, 'string');
}));

test('(o) checkUsername cannot reach the wire (GET with a body)', { timeout: TEST_TIMEOUT_MS }, withTraffic(async (t, mark) => {
  const { auth } = await signedInClient();
  await assert.rejects(auth.checkUsername({ username: 'someone' }));
  assert.equal(trafficSince(mark).filter((e) => pathOf(e.url) === '/auth/v1/checkUsername' && e.status).length, 0);
}));

test('strict mode: every /auth/v1 request of the client is described by the spec', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { enabled, violations } = await control('GET', '/emulator/v1/strict/violations');
  assert.equal(enabled, true, 'the emulator runs in strict mode');
  const list = violations.map((v) => `${v.operation} ${v.pointer}: ${v.problem}`).join('\n');
  assert.deepEqual(violations, [], `requests the spec does not describe:\n${list}`);
});

test('methods exercised', { timeout: TEST_TIMEOUT_MS }, async () => {
  const missing = SDK_METHODS.filter((m) => !exercised.has(m));
  console.log(`methods exercised: ${exercised.size}/${SDK_METHODS.length}`);
  for (const m of missing) console.log(`  not exercised: ${m} (${CANNOT_RUN[m] ?? 'NO REASON'})`);
  assert.deepEqual(missing.filter((m) => !CANNOT_RUN[m]), [], 'every runnable method reaches /auth/v1');
});
