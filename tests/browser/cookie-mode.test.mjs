// Cookie mode in a real Chromium: the packed SDK with `credentials: "include"` against
// `passkey-magic serve --cookies true` (plain HTTP on localhost, so `--cookie-insecure`).
// The session lives in the server's HttpOnly cookie, never in JavaScript; another origin's
// cookie-carrying POST is refused by the origin check; signing out clears the cookie.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launchChromium } from './harness.mjs';
import { addVirtualAuthenticator } from './webauthn.mjs';
import { freshProject } from '../npm/project.mjs';

let project;
let server;
let elsewhere;
let browser;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>cookie mode</title>
<script type="importmap">{ "imports": { "passkey-magic-wasm": "./node_modules/passkey-magic-wasm/index.js" } }</script>
</head><body>
<script type="module">
  window.sdk = await import('passkey-magic-wasm');
  document.body.dataset.ready = 'true';
</script></body></html>`;

before(async () => {
  project = freshProject();
  writeFileSync(path.join(project, 'index.html'), PAGE);
  const args = ['--demo-dir', project, '--cookies', 'true', '--cookie-insecure', 'true'];
  server = await startServer({ args });
  // Another origin (another port of localhost: same site, so Lax cookies still travel).
  elsewhere = await startServer({ args: ['--demo-dir', project] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await elsewhere?.stop();
});

test('cookie mode: no token in JS, the cookie is the session, cross-origin POSTs refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(server.url('/'));
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await addVirtualAuthenticator(page);

  const signedUp = await page.evaluate(async () => {
    const auth = createClientInCookieMode();
    function createClientInCookieMode() {
      window.tokens = [];
      return (window.auth = window.sdk.createClient({
        baseUrl: '/auth',
        credentials: 'include',
        onSessionTokenChange: (token) => window.tokens.push(token),
      }));
    }
    const registered = await auth.passkeys.register({});
    const session = await auth.getSession();
    return {
      userId: registered.user.id,
      sessionUser: session?.user.id,
      clientToken: auth.sessionToken ?? null,
      tokenEvents: window.tokens.length,
      visibleCookies: document.cookie,
    };
  });
  assert.equal(signedUp.sessionUser, signedUp.userId, 'getSession works through the cookie alone');
  assert.equal(signedUp.clientToken, null, 'no token kept in JavaScript');
  assert.equal(signedUp.tokenEvents, 0);
  assert.equal(signedUp.visibleCookies, '', 'the session cookie is HttpOnly');

  const [cookie] = await context.cookies(server.origin);
  assert.equal(cookie.name, 'passkey-magic');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');
  assert.ok(cookie.expires > Date.now() / 1000 + 6 * 24 * 3600, 'Max-Age is the session TTL (7 days)');

  // A page of another origin POSTs to the sign-out route with the browser's cookie.
  const attacker = await context.newPage();
  await attacker.goto(elsewhere.url('/'));
  await attacker.evaluate(async (target) => {
    await fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include' });
  }, server.url('/auth/session/revoke'));
  await attacker.close();
  const stillSignedIn = await page.evaluate(async () => (await window.auth.getSession())?.user.id);
  assert.equal(stillSignedIn, signedUp.userId, 'the cross-origin POST was refused');

  // Same-origin changes pass; signing out clears the cookie.
  const signedOut = await page.evaluate(async () => {
    const renamed = await window.auth.accounts.updateMetadata({ plan: 'pro' });
    await window.auth.signOut();
    return { plan: renamed.user.metadata.plan, after: await window.auth.getSession() };
  });
  assert.equal(signedOut.plan, 'pro');
  assert.equal(signedOut.after, null);
  assert.deepEqual(await context.cookies(server.origin), []);

  // Signing in again with the passkey sets a new cookie.
  const again = await page.evaluate(async () => {
    await window.auth.passkeys.signIn();
    return (await window.auth.getSession())?.user.id;
  });
  assert.equal(again, signedUp.userId);
  assert.deepEqual(errors, []);
  await context.close();
});
