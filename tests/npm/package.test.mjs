// The packed npm package in Node.js, installed into a fresh project, with a mocked v0.4
// `request` transport: exact transport calls, results and errors of the v0.4 client API,
// QR rendering (reference hashes, decoded back with a QR reader), polling, aborts,
// observeSession and token persistence; then the same tarball bundled by esbuild and
// type-checked by tsc.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import jsQR from 'jsqr';
import { bin, freshProject, root } from './project.mjs';

let project;
let sdk;

before(() => {
  project = freshProject();
  writeFileSync(path.join(project, 'sdk.mjs'), "export * from 'passkey-magic-wasm';\n");
});

async function load() {
  sdk ??= await import(pathToFileURL(path.join(project, 'sdk.mjs')));
  return sdk;
}

/** A v0.4 config whose `request` records every call and answers from `answer`. */
function mock(answer = () => ({})) {
  const calls = [];
  const config = {
    request(endpoint, body, options) {
      calls.push({ endpoint, body, options, arity: arguments.length, self: this });
      return answer(endpoint, body, options);
    },
  };
  return { config, calls };
}

const V04_KEYS = [
  'passkeys', 'qr', 'magicLinks', 'accounts', 'supportsPasskeys', 'supportsAutofill',
  'hasPlatformAuthenticator', 'getBestSignInMethod', 'registerPasskey', 'signInWithPasskey',
  'addPasskey', 'updateCredential', 'removeCredential', 'listCredentials', 'createQRSession',
  'renderQR', 'renderQRText', 'pollQRSession', 'waitForQRSession', 'confirmQRSession',
  'completeQRSession', 'cancelQRSession', 'requestMagicLink', 'verifyMagicLink',
  'extractMagicLinkToken', 'verifyMagicLinkURL', 'getSession', 'observeSession', 'listSessions',
  'revokeSession', 'revokeSessionById', 'revokeAllSessions', 'getAccount', 'isEmailAvailable',
  'updateAccountMetadata', 'linkEmail', 'unlinkEmail', 'deleteAccount',
];

test('the package loads in Node from the file beside the module and has the v0.4 surface', async () => {
  const { createClient, AuthClientError, normalizeAuthClientError } = await load();
  assert.equal(typeof createClient, 'function');
  assert.equal(typeof normalizeAuthClientError, 'function');
  const client = createClient(mock().config);
  assert.deepEqual(Object.keys(client).slice(0, V04_KEYS.length), V04_KEYS);
  assert.deepEqual(Object.keys(client.passkeys).slice(0, 6), ['register', 'signIn', 'add', 'list', 'update', 'remove']);
  assert.deepEqual(Object.keys(client.qr), ['create', 'render', 'renderText', 'poll', 'waitForAuthentication', 'confirm', 'complete', 'cancel', 'createFlow']);
  assert.deepEqual(Object.keys(client.magicLinks), ['request', 'verify', 'extractToken', 'verifyURL']);
  assert.deepEqual(Object.keys(client.accounts), ['get', 'isEmailAvailable', 'canLinkEmail', 'updateMetadata', 'linkEmail', 'unlinkEmail', 'delete', 'events']);
  assert.equal(typeof client.listAccountEvents, 'function');
  assert.ok(new AuthClientError('m') instanceof Error);
});

test('AuthClientError and normalizeAuthClientError behave as v0.4', async () => {
  const { AuthClientError, normalizeAuthClientError } = await load();
  const error = new AuthClientError('m');
  assert.deepEqual(Object.keys(error), ['code', 'status', 'cause', 'name']);
  assert.equal(JSON.stringify(error), '{"code":"AUTH_CLIENT_ERROR","name":"AuthClientError"}');
  assert.equal(String(error), 'AuthClientError: m');
  assert.equal(normalizeAuthClientError(error), error);

  const fromString = normalizeAuthClientError('str');
  assert.ok(fromString instanceof AuthClientError);
  assert.equal(fromString.message, 'Authentication request failed');
  assert.equal(fromString.cause, 'str');
  const fromObject = normalizeAuthClientError({ message: 'hi', status: 404 });
  assert.deepEqual([fromObject.message, fromObject.status, fromObject.reason], ['hi', 404, 'not_found']);
  const zero = normalizeAuthClientError({ status: 0 });
  assert.deepEqual([zero.message, zero.status], ['Authentication request failed', 0]);
  assert.equal(normalizeAuthClientError({ status: '404' }).status, undefined);
  const aborted = normalizeAuthClientError(new DOMException('aborted', 'AbortError'));
  assert.deepEqual([aborted.message, aborted.status], ['aborted', undefined]);
  const network = normalizeAuthClientError(new TypeError('fetch failed'));
  assert.equal(network.reason, 'network');
  const limited = normalizeAuthClientError({ message: 'Too many', status: 429 });
  assert.equal(limited.reason, 'rate_limited');
});

test('every member makes exactly the transport calls of v0.4 and returns results as-is', async () => {
  const { createClient } = await load();
  const answers = new Map();
  const { config, calls } = mock((endpoint) => Promise.resolve(answers.get(endpoint) ?? { ok: true }));
  const client = createClient(config);
  const opts = { signal: new AbortController().signal, extra: 1 };
  const last = () => calls.at(-1);
  const expectCall = (endpoint, body, options) => {
    const call = last();
    assert.equal(call.endpoint, endpoint);
    assert.deepEqual(call.body, body);
    if (body && typeof body === 'object') assert.deepEqual(Object.keys(call.body), Object.keys(body));
    assert.equal(call.options, options);
    assert.equal(call.arity, 3);
    assert.equal(call.self, config);
  };

  const credentials = { credentials: [] };
  answers.set('/account/credentials', credentials);
  assert.equal(await client.passkeys.list('ignored', opts), credentials);
  expectCall('/account/credentials', undefined, opts);
  assert.equal(await client.listCredentials(), credentials);
  expectCall('/account/credentials', undefined, undefined);

  assert.equal(await client.passkeys.update({ credentialId: 'a/b', label: 'L' }, opts), undefined);
  expectCall('/account/credentials/a/b', { label: 'L', metadata: undefined }, opts);
  await client.updateCredential({ credentialId: 'c', metadata: { x: 1 } });
  expectCall('/account/credentials/c', { label: undefined, metadata: { x: 1 } }, undefined);
  await client.passkeys.remove(undefined, opts);
  expectCall('/account/credentials/undefined/delete', {}, opts);
  await client.removeCredential('c');
  expectCall('/account/credentials/c/delete', {}, undefined);

  const created = { sessionId: 's1', statusToken: 't', confirmationCode: '123456' };
  answers.set('/qr/create', created);
  assert.equal(await client.qr.create(opts), created);
  expectCall('/qr/create', {}, undefined);
  assert.equal(await client.createQRSession(opts), created);
  expectCall('/qr/create', {}, undefined);
  await client.qr.confirm({ sessionId: 's1', confirmationCode: '1' }, opts);
  expectCall('/qr/s1/confirm', { confirmationCode: '1' }, undefined);
  await client.confirmQRSession({ sessionId: 's1', confirmationCode: '1' }, opts);
  expectCall('/qr/s1/confirm', { confirmationCode: '1' }, opts);
  await client.qr.cancel({ sessionId: 's1', statusToken: 't' }, opts);
  expectCall('/qr/s1/cancel', { statusToken: 't' }, undefined);
  await client.cancelQRSession({ sessionId: 's1', statusToken: 't' }, opts);
  expectCall('/qr/s1/cancel', { statusToken: 't' }, opts);

  const flow = await client.qr.createFlow({ urlBuilder: (id) => `https://x.example/qr/${id}` });
  assert.deepEqual(Object.keys(flow), ['sessionId', 'statusToken', 'confirmationCode', 'render', 'renderText', 'poll', 'waitForAuthentication', 'cancel']);
  assert.equal(flow.render(), client.qr.render('https://x.example/qr/s1'));
  assert.equal(flow.renderText({ border: 0 }), client.renderQRText('https://x.example/qr/s1', { border: 0 }));
  await flow.cancel(opts);
  expectCall('/qr/s1/cancel', { statusToken: 't' }, opts);

  const sent = { sent: true };
  answers.set('/magic-link/send', sent);
  assert.equal(await client.magicLinks.request({ email: 'a@example.com', other: 1 }, opts), sent);
  expectCall('/magic-link/send', { email: 'a@example.com' }, opts);
  const linkResult = { method: 'magic-link', user: { id: 'u' }, session: { token: 'tok' }, isNewUser: true };
  answers.set('/magic-link/verify', linkResult);
  assert.equal(await client.magicLinks.verify({ token: 'abc' }), linkResult);
  expectCall('/magic-link/verify', { token: 'abc' }, undefined);
  assert.equal(await client.verifyMagicLinkURL({ url: new URL('https://x.example/v?token=a%20b+c&token=2') }, opts), linkResult);
  expectCall('/magic-link/verify', { token: 'a b c' }, opts);
  const before = calls.length;
  await assert.rejects(client.magicLinks.verifyURL({ url: '/v?x=1' }), { message: 'Magic link token missing from URL' });
  assert.equal(calls.length, before, 'no transport call when the token is missing');

  const user = { user: { id: 'u' } };
  answers.set('/account', user);
  assert.equal(await client.accounts.get(opts), user);
  expectCall('/account', undefined, opts);
  answers.set('/account/email-available', { available: 'unconverted' });
  assert.equal(await client.accounts.isEmailAvailable('a@example.com', opts), 'unconverted');
  expectCall('/account/email-available', { email: 'a@example.com' }, opts);
  await client.isEmailAvailable('b@example.com');
  expectCall('/account/email-available', { email: 'b@example.com' }, undefined);
  const linkable = { ok: false, reason: 'email_in_use' };
  answers.set('/account/can-link-email', linkable);
  assert.equal(await client.accounts.canLinkEmail('a@example.com', opts), linkable);
  expectCall('/account/can-link-email', { email: 'a@example.com' }, opts);
  await client.accounts.updateMetadata(undefined, opts);
  expectCall('/account/update', { metadata: undefined }, opts);
  await client.updateAccountMetadata({ plan: 'pro' });
  expectCall('/account/update', { metadata: { plan: 'pro' } }, undefined);
  await client.accounts.linkEmail('a@example.com', opts);
  expectCall('/account/link-email', { email: 'a@example.com' }, opts);
  await client.linkEmail('a@example.com');
  expectCall('/account/link-email', { email: 'a@example.com' }, undefined);
  await client.accounts.unlinkEmail(opts);
  expectCall('/account/unlink-email', {}, opts);
  await client.unlinkEmail();
  expectCall('/account/unlink-email', {}, undefined);
  assert.equal(await client.accounts.delete(opts), undefined);
  expectCall('/account/delete', {}, opts);
  await client.deleteAccount();
  expectCall('/account/delete', {}, undefined);
  await client.getAccount();
  expectCall('/account', undefined, undefined);

  const current = { user: { id: 'u' }, session: { id: 's' } };
  answers.set('/session', current);
  assert.equal(await client.getSession(opts), current);
  expectCall('/session', undefined, opts);
  const sessions = { sessions: [] };
  answers.set('/account/sessions', sessions);
  assert.equal(await client.listSessions(opts), sessions);
  expectCall('/account/sessions', undefined, opts);
  assert.equal(await client.revokeSession(opts), undefined);
  expectCall('/session/revoke', {}, opts);
  await client.revokeSessionById('s9', opts);
  expectCall('/account/sessions/s9/delete', {}, opts);
  await client.revokeAllSessions();
  expectCall('/account/sessions/delete-all', {}, undefined);

  // Ours: the security log, a page at a time; limit and cursor go into the query.
  const page = { events: [{ id: 'e', type: 'signIn' }], nextCursor: '17.e' };
  answers.set('/account/events', page);
  assert.equal(await client.accounts.events(), page);
  expectCall('/account/events', undefined, undefined);
  answers.set('/account/events?limit=5', page);
  const eventOpts = { limit: 5, signal: new AbortController().signal };
  assert.equal(await client.accounts.events(eventOpts), page);
  expectCall('/account/events?limit=5', undefined, eventOpts);
  answers.set('/account/events?limit=2&cursor=17.e%26x%3D1', page);
  await client.listAccountEvents({ limit: 2, cursor: '17.e&x=1' });
  assert.equal(calls.at(-1).endpoint, '/account/events?limit=2&cursor=17.e%26x%3D1');
  answers.set('/account/events?cursor=17.e', page);
  await client.accounts.events({ cursor: '17.e', limit: null });
  assert.equal(calls.at(-1).endpoint, '/account/events?cursor=17.e');
});

test('passkey members ask for options first and fail like v0.4 where WebAuthn is missing', async () => {
  const { createClient } = await load();
  const { config, calls } = mock(() => Promise.resolve({ options: { challenge: 'AAAA' }, userId: 'u' }));
  const client = createClient(config);
  const params = { email: 'a@example.com', extra: true };
  await assert.rejects(client.passkeys.register(params), { message: 'WebAuthn is not supported in this browser' });
  assert.equal(calls[0].endpoint, '/passkey/register/options');
  assert.equal(calls[0].body, params, 'the params object itself');
  await assert.rejects(client.signInWithPasskey(), { message: 'WebAuthn is not supported in this browser' });
  assert.equal(calls[1].endpoint, '/passkey/authenticate/options');
  assert.deepEqual(calls[1].body, {});
  await assert.rejects(client.addPasskey(null));
  assert.equal(calls[2].endpoint, '/passkey/add/options');
  await assert.rejects(client.qr.complete({ sessionId: 'q', confirmationCode: '12' }));
  assert.deepEqual(calls.slice(3).map((c) => [c.endpoint, c.body, c.options]), [
    ['/qr/q/scanned', {}, undefined],
    ['/qr/q/confirm', { confirmationCode: '12' }, undefined],
    ['/passkey/authenticate/options', {}, undefined],
  ]);
  assert.equal(client.supportsPasskeys(), false);
  assert.equal(await client.supportsAutofill(), false);
  assert.equal(await client.hasPlatformAuthenticator(), false);
  assert.equal(await client.getBestSignInMethod(), 'magic-link');
  assert.equal(await client.getBestSignInMethod({ allowMagicLink: false }), 'passkey');
});

test('transport failures reject with AuthClientError; getSession resolves null', async () => {
  const { createClient, AuthClientError } = await load();
  const failure = Object.assign(new Error('Unauthorized'), { status: 401 });
  const client = createClient(mock(() => Promise.reject(failure)).config);
  const error = await client.getAccount().catch((e) => e);
  assert.ok(error instanceof AuthClientError);
  assert.deepEqual([error.message, error.status, error.cause, error.reason], ['Unauthorized', 401, failure, 'unauthorized']);
  assert.equal(await client.getSession(), null);
  const throwing = createClient({ request() { throw new Error('sync'); } });
  const thrown = await throwing.listSessions().catch((e) => e);
  assert.ok(thrown instanceof AuthClientError);
  assert.equal(thrown.message, 'sync');
  const missing = await createClient({ request: undefined }).getAccount().catch((e) => e);
  assert.ok(missing instanceof AuthClientError);
  assert.ok(missing.cause instanceof TypeError);
  // Argument errors reject, never throw.
  const promise = client.passkeys.update(undefined);
  assert.ok(promise instanceof Promise);
  await assert.rejects(promise, TypeError);
  await assert.rejects(client.magicLinks.verifyURL(), TypeError);
});

test('an aborted signal sends nothing and an abort mid-call rejects with its reason', async () => {
  const { createClient } = await load();
  const { config, calls } = mock(() => new Promise(() => {})); // never settles
  const client = createClient(config);
  const done = new AbortController();
  done.abort(new Error('stop'));
  await assert.rejects(client.getAccount({ signal: done.signal }), { message: 'stop' });
  await assert.rejects(client.qr.confirm({ sessionId: 's', confirmationCode: '1' }, { signal: done.signal }), { message: 'stop' });
  assert.equal(calls.length, 0);

  const later = new AbortController();
  const pending = client.listSessions({ signal: later.signal });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.length, 1);
  const reason = new Error('user left');
  later.abort(reason);
  assert.equal(await pending.catch((e) => e), reason);

  const waiting = new AbortController();
  const wait = client.waitForQRSession('s', 't', { signal: waiting.signal });
  await new Promise((resolve) => setImmediate(resolve));
  waiting.abort();
  const aborted = await wait.catch((e) => e);
  assert.equal(aborted.name, 'AbortError');
  assert.equal(aborted, waiting.signal.reason);
});

test('qr.poll yields statuses with v0.4 endpoints, fresh { signal } objects and stops on terminal states', async () => {
  const { createClient } = await load();
  const states = ['created', 'scanned', 'weird', 'authenticated', 'created'];
  const { config, calls } = mock(() => Promise.resolve({ state: states[calls.length - 1] }));
  const client = createClient(config);
  const signal = new AbortController().signal;
  const seen = [];
  for await (const status of client.qr.poll('s 1', 'a b/c?&=+é', { interval: 0, signal })) seen.push(status.state);
  assert.deepEqual(seen, ['created', 'scanned', 'weird', 'authenticated']);
  assert.equal(calls.length, 4);
  assert.equal(calls[0].endpoint, '/qr/s 1/status?token=a%20b%2Fc%3F%26%3D%2B%C3%A9');
  assert.equal(calls[0].body, undefined);
  assert.deepEqual(Object.keys(calls[0].options), ['signal']);
  assert.equal(calls[0].options.signal, signal);
  assert.notEqual(calls[0].options, calls[1].options);

  // Nothing happens before next(); break stops without another request.
  const quiet = mock(() => Promise.resolve({ state: 'created' }));
  const iterator = createClient(quiet.config).pollQRSession('s', 't', { interval: 0 });
  assert.equal(quiet.calls.length, 0);
  for await (const status of iterator) {
    assert.equal(status.state, 'created');
    break;
  }
  assert.equal(quiet.calls.length, 1);
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });

  // An already-aborted signal ends the poller normally, without a request.
  const stopped = new AbortController();
  stopped.abort();
  const none = mock();
  const results = [];
  for await (const status of createClient(none.config).qr.poll('s', 't', { signal: stopped.signal })) results.push(status);
  assert.deepEqual([results, none.calls.length], [[], 0]);
});

test('waitForQRSession resolves the session and throws on expired, cancelled and timeout', async () => {
  const { createClient, AuthClientError } = await load();
  const session = { token: 'desktop', expiresAt: 'x', extra: 1 };
  const run = (states, opts = {}) => {
    const { config, calls } = mock(() => Promise.resolve(states[Math.min(calls.length - 1, states.length - 1)]));
    return { calls, result: createClient(config).waitForQRSession('s', 't', { interval: 0, ...opts }) };
  };
  const ok = run([{ state: 'created' }, { state: 'authenticated', session }]);
  assert.equal(await ok.result, session);
  await assert.rejects(run([{ state: 'expired' }]).result, { message: 'QR session expired' });
  await assert.rejects(run([{ state: 'scanned' }, { state: 'cancelled' }]).result, { message: 'QR session cancelled' });
  await assert.rejects(run([{ state: 'created' }], { timeoutMs: -1 }).result, { message: 'QR session timed out' });
  await assert.rejects(run([{ state: 'authenticated' }]).result, { message: 'QR session stopped before authentication' });
  const expired = await run([{ state: 'expired' }]).result.catch((e) => e);
  assert.equal(expired.constructor, Error);
  assert.ok(!(expired instanceof AuthClientError));
});

test('QR codes render as v0.4 does and decode back to their text', async () => {
  const { renderQR, renderQRText, createClient } = await load();
  const sha = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
  const U = 'https://example.com/auth/qr/3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f8091a2';
  assert.equal(sha(renderQR('hi')), '87dc322da3fc85fa355df05b8dbcb152e4ef78bebca33386ee1da59aeac00513');
  assert.equal(sha(renderQR(U)), '50b9b87f736e9c272ee8cd8f356fd7166411fa357b6c86a4cd7297d47a9f1371');
  assert.equal(sha(renderQR(U, { border: 0 })), '3b5856d51960103f3dd0e48c49f45e56e12daaf9edc7212a6cbcf0e6b5428e57');
  assert.equal(sha(renderQR('héllo ✓')), '3d7f3c1fe17ac852497ee477944bf4dd497d3af0391f84c77f70f4f5244e82a1');
  assert.equal(sha(renderQRText(U)), 'fc38e86bd6162e17cc87e4739c3a2aa35d1ff6b6acd8bcf26f429e94fe2424a3');
  assert.equal(sha(renderQRText(U, { border: 2 })), '76cac8e99860db3ae728d57251bb06d3fb7c4d5046c2983eabcb6a208d24018a');
  assert.throws(() => renderQR('x'.repeat(3000)), RangeError);
  assert.throws(() => renderQR(42), { message: 'uqr only supports encoding string and binary data, but got: number' });
  assert.equal(createClient().qr.render([104, 105]), renderQR('hi'));

  // Rasterise the SVG's modules (4 px each) and read them with jsQR.
  for (const text of [U, 'HELLO WORLD', 'héllo ✓']) {
    const svg = renderQR(text);
    const width = Number(svg.match(/viewBox="0 0 (\d+)/)[1]) / 10;
    const scale = 4;
    const size = width * scale;
    const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
    for (const [, x, y] of svg.matchAll(/M(\d+),(\d+)/g)) {
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const offset = (((y / 10) * scale + dy) * size + (x / 10) * scale + dx) * 4;
          pixels.fill(0, offset, offset + 3);
        }
      }
    }
    assert.equal(jsQR(pixels, size, size)?.data, text);
  }
});

test('magicLinks.extractToken reads URLs as v0.4 does', async () => {
  const { extractMagicLinkToken } = await load();
  assert.equal(extractMagicLinkToken('https://x.example/v?token=a%20b+c&token=2#token=f'), 'a b c');
  assert.equal(extractMagicLinkToken('/cb?token=x'), 'x');
  assert.equal(extractMagicLinkToken('?token=x'), 'x');
  assert.equal(extractMagicLinkToken(new URL('https://x.example/?token=u')), 'u');
  assert.throws(() => extractMagicLinkToken('token=x'), { message: 'Magic link token missing from URL' });
  assert.throws(() => extractMagicLinkToken('?token='), { message: 'Magic link token missing from URL' });
  assert.throws(() => extractMagicLinkToken('http://['), TypeError);
  assert.throws(() => extractMagicLinkToken(undefined), TypeError);
});

test('observeSession ticks, calls client.getSession each time and stops when unsubscribed', async () => {
  const { createClient } = await load();
  const { config, calls } = mock(() => Promise.resolve({ user: { id: 'u' }, session: { id: 's' } }));
  const client = createClient(config);
  const seen = [];
  let stop;
  await new Promise((resolve) => {
    stop = client.observeSession((value) => {
      seen.push(value);
      if (seen.length === 3) resolve();
    }, { intervalMs: 1 });
  });
  stop();
  stop(); // idempotent
  const count = calls.length;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(calls.length, count, 'no tick after unsubscribe');
  assert.ok(calls.every((c) => c.endpoint === '/session' && c.options === undefined));
  assert.equal(seen[0].user.id, 'u');

  // The getSession member is looked up on the client at each tick.
  const replaced = createClient(mock().config);
  replaced.getSession = async () => 'replaced';
  const value = await new Promise((resolve) => {
    const off = replaced.observeSession((v) => {
      off();
      resolve(v);
    });
  });
  assert.equal(value, 'replaced');
});

test('the session token is kept, persisted under a storage key and reported on change', async () => {
  const { createClient } = await load();
  const storage = new Map();
  const store = {
    getItem: (key) => storage.get(key) ?? null,
    setItem: (key, value) => storage.set(key, String(value)),
    removeItem: (key) => storage.delete(key),
  };
  const changes = [];
  const answers = {
    '/magic-link/verify': { method: 'magic-link', user: { id: 'u' }, session: { token: 'tok-1' }, isNewUser: false },
    '/session/revoke': { ok: true },
  };
  const { config } = mock((endpoint) => Promise.resolve(answers[endpoint]));
  const client = createClient({ ...config, storageKey: 'pm', storage: store, onSessionTokenChange: (t) => changes.push(t) });
  assert.equal(client.getSessionToken(), null);
  await client.verifyMagicLink({ token: 'x' });
  assert.equal(client.getSessionToken(), 'tok-1');
  assert.equal(storage.get('pm'), 'tok-1');
  // A second client on the same storage restores it.
  assert.equal(createClient({ ...config, storageKey: 'pm', storage: store }).getSessionToken(), 'tok-1');
  await client.revokeSession();
  assert.equal(client.getSessionToken(), null);
  assert.equal(storage.has('pm'), false);
  assert.deepEqual(changes, ['tok-1', null]);
});

test('cookie mode (credentials: include) sends cookies, keeps no token and always revokes on sign-out', async () => {
  const { createClient } = await load();
  const sent = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    sent.push({ url: String(url), init });
    const body = String(url).endsWith('/magic-link/verify')
      ? { method: 'magic-link', user: { id: 'u1' }, session: { id: 's1', token: 'secret' }, isNewUser: false }
      : String(url).endsWith('/session') ? { user: { id: 'u1' }, session: { id: 's1' } } : { ok: true };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  try {
    const changes = [];
    const auth = createClient({
      baseUrl: 'https://id.example/auth',
      credentials: 'include',
      sessionToken: 'ignored',
      onSessionTokenChange: (token) => changes.push(token),
    });
    assert.equal(auth.sessionToken, undefined);
    await auth.magicLinks.verify({ token: 't' });
    assert.equal(auth.sessionToken, undefined, 'the token stays in the cookie');
    assert.equal((await auth.getSession()).user.id, 'u1');
    await auth.signOut();
    assert.deepEqual(changes, []);
    assert.deepEqual(sent.map((call) => call.url), [
      'https://id.example/auth/magic-link/verify',
      'https://id.example/auth/session',
      'https://id.example/auth/session/revoke',
    ]);
    for (const { init } of sent) {
      assert.equal(init.credentials, 'include');
      assert.equal(init.headers.Authorization, undefined);
    }
    // Without the option: no credentials mode, and the bearer token is kept and sent.
    sent.length = 0;
    const bearer = createClient({ baseUrl: 'https://id.example/auth' });
    await bearer.magicLinks.verify({ token: 't' });
    await bearer.getSession();
    assert.equal(sent[1].init.credentials, undefined);
    assert.equal(sent[1].init.headers.Authorization, 'Bearer secret');
  } finally {
    globalThis.fetch = realFetch;
  }
});

test('a fresh project bundles the package with esbuild and the bundle runs', async () => {
  writeFileSync(
    path.join(project, 'app.js'),
    "import { createClient, renderQRText } from 'passkey-magic-wasm';\n" +
      "const auth = createClient({ request: async () => ({ available: true }) });\n" +
      "console.log(JSON.stringify({ available: await auth.isEmailAvailable('a@b.co'), qr: renderQRText('hi').split('\\n').length }));\n",
  );
  execFileSync(bin('esbuild'), ['app.js', '--bundle', '--format=esm', '--platform=browser', '--outdir=dist'], { cwd: project, stdio: 'pipe' });
  // Bundlers without `new URL(…, import.meta.url)` asset support serve the wasm beside the bundle.
  mkdirSync(path.join(project, 'dist'), { recursive: true });
  copyFileSync(path.join(project, 'node_modules/passkey-magic-wasm/passkey_magic_client_bg.wasm'), path.join(project, 'dist/passkey_magic_client_bg.wasm'));
  const output = execFileSync(process.execPath, ['dist/app.js'], { cwd: project, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(output), { available: true, qr: 12 });
});

test('the TypeScript declarations type-check a usage of every member (tsc --strict)', () => {
  copyFileSync(path.join(root, 'tests/npm/usage.ts'), path.join(project, 'usage.ts'));
  execFileSync(
    bin('tsc'),
    ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom,dom.iterable', 'usage.ts'],
    { cwd: project, stdio: 'inherit' },
  );
});
