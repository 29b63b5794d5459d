// Generates tc3-vectors.json: TC3-HMAC-SHA256 Authorization headers made by the pinned
// official packages, the oracle for src/server/tc3.rs (tests/tc3_vectors.rs) and the
// emulator's verifier. Deterministic: run it again and the file must not change
// (.ci/run checks that with `git diff --exit-code`).
//
//   node tc3-vectors.mjs > tc3-vectors.json
import { createRequire } from 'node:module';
import { atTime } from './frozen-clock.mjs';

const require = createRequire(import.meta.url);
const { sign } = require('@cloudbase/signature-nodejs');

const ID = 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE';
const KEY = 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLEKEY';
// 2024-03-09T23:59:59Z and the second after it: the date in the scope changes.
const BEFORE_MIDNIGHT = 1710028799;
const AFTER_MIDNIGHT = 1710028800;
const T = 1700000000; // 2023-11-14T22:13:20Z

const json = { 'content-type': 'application/json' };
const host = (h) => ({ host: h });
const nodeSdkHeaders = (h, extra = {}) => ({
  'User-Agent': 'tcb-node-sdk/3.18.3',
  'X-TCB-Source': ',unknown',
  'X-Client-Timestamp': 1700000000123,
  'X-SDK-Version': 'tcb-node-sdk/3.18.3',
  Host: h,
  ...extra,
});

// Each case: [name, {method, url, headers, params, timestamp, token?, secretId?, secretKey?}].
// `params` is what node-sdk passes (its request `data`, or '' when there is none).
const cases = [
  ['client_credential_minimal', { method: 'POST', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/token/clientCredential', headers: { ...json, ...host('env-1.api.tcloudbasegateway.com') }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['client_credential_node_sdk_headers', { method: 'POST', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/token/clientCredential', headers: { 'content-type': 'application/json', ...nodeSdkHeaders('env-1.api.tcloudbasegateway.com') }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['client_credential_with_region', { method: 'POST', url: 'https://env-1.api.intl.tcloudbasegateway.com/auth/v1/token/clientCredential', headers: { 'content-type': 'application/json', ...nodeSdkHeaders('env-1.api.intl.tcloudbasegateway.com', { 'X-TCB-Region': 'ap-singapore' }) }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['sts_session_token', { method: 'POST', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/token/clientCredential', headers: { ...json, ...host('env-1.api.tcloudbasegateway.com') }, params: { grant_type: 'client_credentials' }, timestamp: T, token: 'sts-token-0123456789abcdef' }],
  ['sts_long_token', { method: 'POST', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/token/clientCredential', headers: { ...json, ...host('env-1.api.tcloudbasegateway.com') }, params: { grant_type: 'client_credentials' }, timestamp: T, token: 'A'.repeat(300) }],
  ['get_without_body', { method: 'GET', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/user/me', headers: { ...json, ...host('env-1.api.tcloudbasegateway.com') }, params: '', timestamp: T }],
  ['get_with_query', { method: 'GET', url: 'https://env-1.api.tcloudbasegateway.com/auth/v1/provider/uri?client_id=env-1&provider_id=github&redirect_uri=https%3A%2F%2Fexample.com%2Fcb', headers: { ...json, ...host('env-1.api.tcloudbasegateway.com') }, params: '', timestamp: T }],
  ['query_unsorted_kept_verbatim', { method: 'GET', url: 'https://h.example.com/p?b=2&a=1&a=0', headers: { ...json, ...host('h.example.com') }, params: '', timestamp: T }],
  ['query_empty_value', { method: 'GET', url: 'https://h.example.com/p?flag&x=', headers: { ...json, ...host('h.example.com') }, params: '', timestamp: T }],
  ['delete_with_body', { method: 'DELETE', url: 'https://h.example.com/auth/v1/user/me', headers: { ...json, ...host('h.example.com') }, params: { sudo_token: 's' }, timestamp: T }],
  ['put_method', { method: 'PUT', url: 'https://h.example.com/auth/v1/x', headers: { ...json, ...host('h.example.com') }, params: { a: 1 }, timestamp: T }],
  ['patch_method', { method: 'PATCH', url: 'https://h.example.com/auth/v1/user/password', headers: { ...json, ...host('h.example.com') }, params: { old_password: 'a', new_password: 'b' }, timestamp: T }],
  ['lowercase_method_kept', { method: 'post', url: 'https://h.example.com/auth/v1/token/clientCredential', headers: { ...json, ...host('h.example.com') }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['empty_object_body', { method: 'POST', url: 'https://h.example.com/auth/v1/signin/anonymously', headers: { ...json, ...host('h.example.com') }, params: {}, timestamp: T }],
  ['empty_array_body', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: [], timestamp: T }],
  ['unicode_body', { method: 'POST', url: 'https://h.example.com/auth/v1/user/basic/edit', headers: { ...json, ...host('h.example.com') }, params: { nickname: '张三 ☃ café', description: 'emoji 😀 and \u00e9' }, timestamp: T }],
  ['escapes_in_body', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { s: 'quote " backslash \\ slash / newline \n tab \t ctrl \u0001 del \u007f' }, timestamp: T }],
  ['nested_body', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { user: { name: 'a', tags: ['x', 'y', { deep: [1, 2.5, -3, null, true, false] }] }, n: 0, z: 'last' }, timestamp: T }],
  ['key_order_is_insertion_order', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { zeta: 1, alpha: 2, mid: 3 }, timestamp: T }],
  ['large_numbers_body', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { big: 9007199254740991, neg: -1, frac: 0.1 }, timestamp: T }],
  ['path_percent_encoded_unicode', { method: 'POST', url: 'https://h.example.com/auth/v1/%E4%B8%AD%E6%96%87/x', headers: { ...json, ...host('h.example.com') }, params: { a: 'b' }, timestamp: T }],
  ['path_with_trailing_slash', { method: 'GET', url: 'https://h.example.com/auth/v1/user/', headers: { ...json, ...host('h.example.com') }, params: '', timestamp: T }],
  ['root_path', { method: 'GET', url: 'https://h.example.com/', headers: { ...json, ...host('h.example.com') }, params: '', timestamp: T }],
  ['host_with_port', { method: 'POST', url: 'http://127.0.0.1:8787/auth/v1/token/clientCredential', headers: { ...json, ...host('127.0.0.1:8787') }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['http_scheme', { method: 'POST', url: 'http://localhost/auth/v1/token/clientCredential', headers: { ...json, ...host('localhost') }, params: { grant_type: 'client_credentials' }, timestamp: T }],
  ['header_values_lowercased_and_trimmed', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com'), 'X-Custom': '  MiXeD Case Value  ', 'X-Request-Id': 'ABCDEF0123' }, params: { a: 1 }, timestamp: T }],
  ['header_names_mixed_case', { method: 'POST', url: 'https://h.example.com/a', headers: { 'Content-Type': 'application/json', Host: 'h.example.com', 'X-Device-Id': 'dev' }, params: { a: 1 }, timestamp: T }],
  ['content_type_value_kept_verbatim', { method: 'POST', url: 'https://h.example.com/a', headers: { 'content-type': 'Application/JSON; Charset=UTF-8', host: 'h.example.com' }, params: { a: 1 }, timestamp: T }],
  ['content_type_multipart_reduced', { method: 'POST', url: 'https://h.example.com/a', headers: { 'content-type': 'multipart/form-data; boundary=XyZ', host: 'h.example.com' }, params: { a: 1 }, timestamp: T }],
  ['header_sort_punctuation', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com'), 'x-a': '1', 'x_a': '2', 'xa': '3', 'x.a': '4', 'x1': '5', 'x-1': '6' }, params: { a: 1 }, timestamp: T }],
  ['header_numeric_value', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com'), 'x-client-timestamp': 1700000000999 }, params: { a: 1 }, timestamp: T }],
  ['header_empty_value', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com'), 'x-empty': '' }, params: { a: 1 }, timestamp: T }],
  ['before_utc_midnight', { method: 'POST', url: 'https://h.example.com/auth/v1/token/clientCredential', headers: { ...json, ...host('h.example.com') }, params: { grant_type: 'client_credentials' }, timestamp: BEFORE_MIDNIGHT }],
  ['after_utc_midnight', { method: 'POST', url: 'https://h.example.com/auth/v1/token/clientCredential', headers: { ...json, ...host('h.example.com') }, params: { grant_type: 'client_credentials' }, timestamp: AFTER_MIDNIGHT }],
  ['leap_day', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { a: 1 }, timestamp: 1709251199 }],
  ['year_2038_and_beyond', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { a: 1 }, timestamp: 4102444800 }],
  ['other_secret', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { a: 1 }, timestamp: T, secretId: 'AKIDother', secretKey: 'another-key-with-ünïcode' }],
  ['empty_secret_key', { method: 'POST', url: 'https://h.example.com/a', headers: { ...json, ...host('h.example.com') }, params: { a: 1 }, timestamp: T, secretId: 'AKIDempty', secretKey: '' }],
];

const vectors = cases.map(([name, c]) => {
  const secretId = c.secretId ?? ID;
  const secretKey = c.secretKey ?? KEY;
  const { authorization, timestamp } = sign({
    secretId,
    secretKey,
    method: c.method,
    url: c.url,
    params: c.params,
    headers: c.headers,
    timestamp: c.timestamp,
    withSignedParams: false,
    isCloudApi: true,
  });
  // The suffixes exactly as @cloudbase/node-sdk 3.18.3 builds them
  // (src/utils/tcbopenapicommonrequester.ts, buildHeaders).
  const full = c.token
    ? `${authorization}, Timestamp=${timestamp}, Token=${c.token}`
    : `${authorization}, Timestamp=${timestamp}`;
  return {
    name,
    secret_id: secretId,
    secret_key: secretKey,
    session_token: c.token ?? null,
    method: c.method,
    url: c.url,
    // [name, value] in the order given; values as the signer stringifies them.
    headers: Object.entries(c.headers).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    // The exact bytes signed (and sent): JSON.stringify(params), or null for no body.
    body: c.params === '' ? null : JSON.stringify(c.params),
    timestamp: c.timestamp,
    authorization: full,
  };
});

// The whole request as @cloudbase/node-sdk 3.18.3 builds it for getClientCredential()
// (TcbOpenApiHttpCommonRequester.makeReqOpts), under a frozen clock: its own headers,
// its own `timestamp: second() - 1` and its own suffixes.
const { TcbOpenApiHttpCommonRequester } = require('@cloudbase/node-sdk/dist/utils/tcbopenapicommonrequester.js');
function nodeSdkRequest(name, nowMs, config) {
  return atTime(nowMs, () => {
    const data = { grant_type: 'client_credentials' };
    const requester = new TcbOpenApiHttpCommonRequester({
      config: { envName: 'env-1', secretId: ID, secretKey: KEY, ...config },
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      path: '/auth/v1/token/clientCredential',
      data,
      opts: { runEnvTag: 'unknown' },
    });
    const { url, headers } = requester.makeReqOpts();
    const { Authorization: authorization, ...sent } = headers;
    return {
      name,
      secret_id: ID,
      secret_key: KEY,
      session_token: config.sessionToken ?? null,
      method: 'POST',
      url,
      headers: Object.entries(sent).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
      body: JSON.stringify(data),
      timestamp: Math.floor(nowMs / 1000) - 1,
      authorization,
    };
  });
}
vectors.push(
  nodeSdkRequest('node_sdk_get_client_credential', 1700000000500, {}),
  nodeSdkRequest('node_sdk_get_client_credential_sts', 1700000000500, { sessionToken: 'sts-session-token-xyz' }),
  nodeSdkRequest('node_sdk_get_client_credential_region', 1700000000500, { region: 'ap-singapore' }),
  // second() - 1 crosses midnight: the scope date is the previous day.
  nodeSdkRequest('node_sdk_get_client_credential_midnight', 1710028800500, {}),
);

process.stdout.write(`${JSON.stringify({
  generator: 'tests/js-oracle/tc3-vectors.mjs',
  packages: {
    '@cloudbase/signature-nodejs': require('@cloudbase/signature-nodejs/package.json').version,
    '@cloudbase/node-sdk': require('@cloudbase/node-sdk/package.json').version,
  },
  vectors,
}, null, 2)}\n`);
