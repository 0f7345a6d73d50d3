// Real passkeys in Chromium (virtual authenticator) against the real `passkey-magic`
// binary: what a browser's WebAuthn JSON looks like is what the server must accept.
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
  await page.goto(server.url('/'));
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

test('the npm package registers, signs in and signs out with passkeys', async () => {
  const page = await browser.newPage();
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]');
  await addVirtualAuthenticator(page);
  const result = await page.evaluate(async () => {
    const { createClient, AuthClientError } = await import('passkey-magic-wasm');
    const auth = createClient({ baseUrl: '/auth' });
    const registered = await auth.passkeys.register({ email: 'sdk@example.com' });
    const afterRegister = await auth.getSession();
    await auth.signOut();
    const afterSignOut = await auth.getSession();
    const signedIn = await auth.passkeys.signIn();
    const afterSignIn = await auth.getSession();
    let duplicate;
    try {
      await createClient().passkeys.register({ email: 'SDK@example.com' });
    } catch (error) {
      duplicate = {
        isAuthClientError: error instanceof AuthClientError,
        status: error.status,
        code: error.code,
        message: error.message,
      };
    }
    return {
      registered: { method: registered.method, email: registered.user.email, userId: registered.user.id },
      credentialTransports: registered.credential.transports,
      afterRegister: afterRegister?.user.id,
      afterSignOut,
      signedIn: { method: signedIn.method, userId: signedIn.user.id },
      afterSignIn: afterSignIn?.session.authMethod,
      tokenKept: typeof auth.sessionToken === 'string' && auth.sessionToken.length >= 43,
      duplicate,
    };
  });
  assert.equal(result.registered.method, 'passkey');
  assert.equal(result.registered.email, 'sdk@example.com');
  assert.deepEqual(result.credentialTransports, ['internal']);
  assert.equal(result.afterRegister, result.registered.userId);
  assert.equal(result.afterSignOut, null);
  assert.deepEqual(result.signedIn, { method: 'passkey', userId: result.registered.userId });
  assert.equal(result.afterSignIn, 'passkey');
  assert.equal(result.tokenKept, true);
  assert.deepEqual(result.duplicate, {
    isAuthClientError: true,
    status: 400,
    code: 'invalid_request',
    message: 'Email already in use',
  });
});

test('the npm package logs a desktop in by QR from a phone with a passkey', async () => {
  const page = await browser.newPage();
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]');
  await addVirtualAuthenticator(page);
  const result = await page.evaluate(async () => {
    const { createClient } = await import('passkey-magic-wasm');
    const phone = createClient();
    const registered = await phone.passkeys.register({});
    const desktop = createClient();
    const { sessionId, statusToken } = await desktop.qr.create();
    const waiting = desktop.qr.waitForAuthentication(sessionId, statusToken, { timeoutMs: 20_000 });
    await phone.qr.scan(sessionId);
    await phone.qr.complete(sessionId);
    const final = await waiting;
    const session = await desktop.getSession();
    const again = await desktop.qr.status(sessionId, statusToken);
    return {
      state: final.state,
      gotToken: typeof final.session?.token === 'string',
      desktopUser: session?.user.id,
      phoneUser: registered.user.id,
      method: session?.session.authMethod,
      tokenAgain: again.session !== undefined,
    };
  });
  assert.equal(result.state, 'authenticated');
  assert.equal(result.gotToken, true);
  assert.equal(result.desktopUser, result.phoneUser);
  assert.equal(result.method, 'qr');
  assert.equal(result.tokenAgain, false);
});

test('the npm package signs in with a magic link from the dev outbox', async () => {
  const page = await browser.newPage();
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]');
  const result = await page.evaluate(async () => {
    const { createClient } = await import('passkey-magic-wasm');
    const auth = createClient();
    await auth.magicLinks.request({ email: 'link@example.com' });
    const outbox = await (await fetch('/auth/dev/outbox')).json();
    const messages = Array.isArray(outbox) ? outbox : outbox.messages;
    const url = messages.filter((m) => m.email === 'link@example.com').at(-1).url;
    const signedIn = await auth.magicLinks.verifyURL({ url });
    const current = await auth.getSession();
    let reused;
    try {
      await createClient().magicLinks.verifyURL({ url });
    } catch (error) {
      reused = error.status;
    }
    return {
      isNewUser: signedIn.isNewUser,
      email: current?.user.email,
      method: current?.session.authMethod,
      reused,
    };
  });
  assert.deepEqual(result, {
    isNewUser: true,
    email: 'link@example.com',
    method: 'magic-link',
    reused: 400,
  });
});
