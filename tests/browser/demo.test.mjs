// The README's demo command serves a page that loads the npm package (wasm) in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchChromium } from './harness.mjs';
import { addVirtualAuthenticator } from './webauthn.mjs';

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

test('the demo page loads the wasm SDK and reports passkey support', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]', { timeout: 15_000 });
  // Headless Chromium on http://localhost is a secure context with WebAuthn.
  assert.equal(await page.textContent('#supports-passkeys'), 'yes');
  assert.match(await page.textContent('#supports-autofill'), /^(yes|no)$/);
  assert.match(await page.textContent('#platform-authenticator'), /^(yes|no)$/);
  assert.deepEqual(errors, []);
});

test('the npm package exports work from a plain ES module', async () => {
  const page = await browser.newPage();
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]');
  const result = await page.evaluate(async () => {
    const sdk = await import('passkey-magic-wasm');
    const token = sdk.extractMagicLinkToken('/verify?token=abc%2D123#x');
    let thrown;
    try {
      sdk.extractMagicLinkToken('https://example.com/verify');
    } catch (error) {
      thrown = {
        isAuthClientError: error instanceof sdk.AuthClientError,
        isError: error instanceof Error,
        status: error.status,
        code: error.code,
        message: error.message,
      };
    }
    return { token, thrown };
  });
  assert.equal(result.token, 'abc-123');
  assert.deepEqual(result.thrown, {
    isAuthClientError: true,
    isError: true,
    status: 0,
    code: 'invalid_request',
    message: 'The link has no token',
  });
});

test('the API is mounted beside the demo and answers unknown routes with JSON 404', async () => {
  const response = await fetch(server.url('/auth/does-not-exist'));
  assert.equal(response.status, 404);
  assert.deepEqual(await response.json(), { error: 'Not found', code: 'not_found' });
});

test('a person signs up, out and in again with a passkey on the demo page', async () => {
  const page = await browser.newPage();
  await page.goto(server.url('/'));
  await page.waitForSelector('#status[data-ready="true"]');
  await addVirtualAuthenticator(page);

  await page.fill('#email', 'demo-person@example.com');
  await page.click('#sign-up button[type="submit"]');
  await page.waitForFunction(() =>
    document.getElementById('account').textContent.startsWith('Signed in as demo-person@'),
  );
  assert.equal(await page.textContent('#error'), '');

  await page.click('#sign-out');
  await page.waitForFunction(() => document.getElementById('account').textContent === 'Signed out.');

  await page.click('#sign-in');
  await page.waitForFunction(() =>
    document.getElementById('account').textContent.startsWith('Signed in as demo-person@'),
  );
  // The session survives a reload of the tab.
  await page.reload();
  await page.waitForSelector('#status[data-ready="true"]');
  assert.match(await page.textContent('#account'), /^Signed in as demo-person@example\.com \(passkey\)\.$/);

  // A taken email is a readable error, not a crash.
  await page.click('#sign-out');
  await page.fill('#email', 'DEMO-person@example.com');
  await page.click('#sign-up button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('error').textContent !== '');
  assert.equal(await page.textContent('#error'), 'Email already in use');
});
