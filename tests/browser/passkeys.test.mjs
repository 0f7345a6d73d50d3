// Real passkeys in Chromium (virtual authenticator) against the real `passkey-magic`
// binary: what a browser's WebAuthn JSON looks like is what the server must accept.
// (The npm package's own browser tests are in sdk.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchChromium, freshDatabaseUrl } from './harness.mjs';
import { addVirtualAuthenticator, createPasskey, getPasskey } from './webauthn.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ demo: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** In the page: POST JSON to the API, return {status, body}. */
function api(page, path, body, token) {
  return page.evaluate(
    async ({ path, body, token }) => {
      const headers = { 'Content-Type': 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const response = await fetch(`/auth${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    { path, body, token },
  );
}

test('a browser registers a passkey, signs in with it and reads its session', async () => {
  const page = await browser.newPage();
  // A page of the origin that runs no script: the demo's sign-in page would offer the
  // new passkey in its own autofill request, sign in with it and navigate away.
  await page.goto(server.url('/auth/none'));
  await addVirtualAuthenticator(page);

  const options = await api(page, '/passkey/register/options', { email: 'ada@example.com' });
  assert.equal(options.status, 200);
  assert.equal(options.body.options.authenticatorSelection.residentKey, 'required');
  const registration = await createPasskey(page, options.body.options);

  const registered = await api(page, '/passkey/register/verify', {
    userId: options.body.userId,
    response: registration,
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  assert.equal(registered.body.method, 'passkey');
  assert.equal(registered.body.user.email, 'ada@example.com');
  assert.equal(registered.body.credential.id, registration.id);
  assert.deepEqual(registered.body.credential.transports, ['internal']);
  assert.ok(registered.body.session.token.length >= 43);

  // Usernameless sign-in with the discoverable passkey.
  const signInOptions = await api(page, '/passkey/authenticate/options', {});
  assert.equal(signInOptions.status, 200);
  assert.deepEqual(signInOptions.body.options.allowCredentials, []);
  const assertion = await getPasskey(page, signInOptions.body.options);
  const signedIn = await api(page, '/passkey/authenticate/verify', { response: assertion });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  assert.equal(signedIn.body.user.id, registered.body.user.id);
  assert.notEqual(signedIn.body.session.token, registered.body.session.token);

  const current = await api(page, '/session', undefined, signedIn.body.session.token);
  assert.equal(current.status, 200);
  assert.equal(current.body.user.id, registered.body.user.id);
  assert.equal(current.body.session.authMethod, 'passkey');
  assert.equal(current.body.session.token, undefined);

  // The same assertion cannot be replayed: its challenge was consumed.
  const replay = await api(page, '/passkey/authenticate/verify', { response: assertion });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'Challenge expired or not found');
});

test('accounts, passkeys and sessions survive a server restart (SQLite)', async () => {
  const databaseUrl = freshDatabaseUrl();
  let first = await startServer({ databaseUrl });
  const page = await browser.newPage();
  await page.goto(first.url('/auth/none'));
  await addVirtualAuthenticator(page);
  const options = await api(page, '/passkey/register/options', {});
  const registration = await createPasskey(page, options.body.options);
  const registered = await api(page, '/passkey/register/verify', {
    userId: options.body.userId,
    response: registration,
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  await first.stop();

  const second = await startServer({ databaseUrl });
  try {
    // Same rp id (localhost), new port: the page moves to the new origin and keeps its
    // virtual authenticator.
    await page.goto(second.url('/auth/none'));
    const current = await api(page, '/session', undefined, registered.body.session.token);
    assert.equal(current.status, 200);
    assert.equal(current.body.user.id, registered.body.user.id);

    const signInOptions = await api(page, '/passkey/authenticate/options', {});
    const assertion = await getPasskey(page, signInOptions.body.options);
    const signedIn = await api(page, '/passkey/authenticate/verify', { response: assertion });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.user.id, registered.body.user.id);
  } finally {
    await second.stop();
  }
});
