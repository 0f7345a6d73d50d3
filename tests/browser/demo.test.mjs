// The README's demo command serves pages that load the npm package (wasm) in Chromium.
// Sign-in screen: register → sign out → sign in, autofill, the failure messages, the
// layout at 375 px and both colour schemes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo,
  releaseDemo,
  launchChromium,
  newDevice,
  open,
  waitForText,
  assertNoError,
  assertFitsWidth,
  screenshot,
  signUp,
  openSignIn,
  PHONE,
} from './demo-helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startDemo();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  releaseDemo();
});

test('the sign-in page loads the wasm SDK beside the API and reports what this browser can do', async () => {
  // The API is mounted beside the pages and answers unknown routes with JSON 404.
  const response = await fetch(server.url('/auth/does-not-exist'));
  assert.equal(response.status, 404);
  assert.equal((await response.json()).error, 'Not found');

  const { page, errors, context } = await newDevice(browser);
  await open(page, server.url('/'));
  // Headless Chromium on http://localhost is a secure context with WebAuthn.
  assert.equal(await page.textContent('#supports-passkeys'), 'yes');
  assert.match(await page.textContent('#supports-autofill'), /^(yes|no)$/);
  assert.match(await page.textContent('#platform-authenticator'), /^(yes|no)$/);
  assert.match(await page.textContent('#best-method'), /^(passkey-autofill|passkey)$/);
  assert.equal(await page.isVisible('#nav-mailbox'), true, 'the dev mailbox is linked in --dev');
  await screenshot(page, 'sign-in', { docs: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the demo opened at 127.0.0.1 (the address the server logs) moves to localhost', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  await page.goto(server.url('/qr.html?x=1').replace('//localhost', '//127.0.0.1'));
  await page.waitForURL(/^http:\/\/localhost:\d+\/qr\.html\?x=1$/);
  await page.waitForSelector('body[data-ready="true"]');
  await screenshot(page, 'moved-to-localhost');
  await context.close();
});

test('the npm package exports work from a plain ES module', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  await open(page, server.url('/'));
  const result = await page.evaluate(async () => {
    const sdk = await import('passkey-magic-wasm');
    const client = sdk.createClient({ baseUrl: '/auth' });
    let thrown;
    try {
      client.magicLinks.extractToken('https://example.com/verify');
    } catch (error) {
      thrown = { isError: error instanceof Error, message: error.message };
    }
    return { token: client.magicLinks.extractToken('/verify?token=abc%2D123#x'), thrown };
  });
  assert.equal(result.token, 'abc-123');
  assert.equal(result.thrown.isError, true);
  assert.match(result.thrown.message, /token/i);
  await screenshot(page, 'sdk-from-plain-module');
  await context.close();
});

test('a person signs up, out and in again with a passkey', async () => {
  const device = await newDevice(browser);
  const { page, errors, context } = device;
  await signUp(page, server, 'demo-person@example.com');
  assert.match(await page.textContent('#who'), /^Signed in as demo-person@example\.com \(Passkey\)\.$/);

  await page.click('#sign-out');
  await waitForText(page, '#status', /^Signed out\.$/);
  await openSignIn(device, server);
  assert.equal(await page.isVisible('#sign-in-section'), true);

  await page.click('#sign-in');
  await page.waitForURL(/account\.html$/);
  await page.waitForSelector('body[data-ready="true"]');
  await waitForText(page, '#who', /^Signed in as demo-person@example\.com \(Passkey\)\.$/);
  // The session survives a reload, and the sign-in page knows it.
  await page.reload();
  await waitForText(page, '#who', /^Signed in as demo-person@example\.com/);
  await open(page, server.url('/'));
  await waitForText(page, '#account', /^Signed in as demo-person@example\.com \(Passkey\)\.$/);
  await assertNoError(page);
  await screenshot(page, 'sign-in-signed-in');
  assert.deepEqual(errors, []);
  await context.close();
});

test('passkey autofill in the email field signs in without pressing a button', async () => {
  const { page, context } = await newDevice(browser);
  await signUp(page, server, 'autofill@example.com');
  await page.click('#sign-out');
  await waitForText(page, '#status', /^Signed out\.$/);

  assert.equal(await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable()), true);
  // Opening the sign-in page starts a conditional request: the browser offers the passkey
  // in the email field, and choosing it signs in (Chromium's virtual authenticator
  // chooses at once). No button is pressed.
  await page.goto(server.url('/'));
  await page.waitForURL(/account\.html$/, { timeout: 20_000 });
  await waitForText(page, '#who', /^Signed in as autofill@example\.com \(Passkey\)\.$/);
  await screenshot(page, 'autofill-signed-in');
  await context.close();
});

test('a taken email is a readable error, not a crash', async () => {
  const { page, context } = await newDevice(browser);
  await signUp(page, server, 'taken@example.com');
  const other = await newDevice(browser);
  await open(other.page, server.url('/'));
  await other.page.fill('#email', 'TAKEN@example.com');
  await other.page.click('#sign-up');
  assert.equal(await waitForText(other.page, '#error', /./), 'Email already in use.');
  await screenshot(other.page, 'sign-up-email-taken');
  await other.context.close();
  await context.close();
});

test('a cancelled passkey prompt and a device without a passkey say so', async () => {
  const { page, webauthn, context } = await newDevice(browser);
  await open(page, server.url('/'));
  // This device has no passkey for the site.
  await page.click('#sign-in');
  await waitForText(page, '#error', /this device has no passkey for this site/);
  await screenshot(page, 'sign-in-no-passkey');

  // The person dismisses the prompt (the authenticator refuses user verification).
  await webauthn.cdp.send('WebAuthn.setUserVerified', {
    authenticatorId: webauthn.authenticatorId,
    isUserVerified: false,
  });
  await page.click('#sign-up');
  await waitForText(page, '#error', /the passkey prompt was cancelled/);
  assert.match(page.url(), /\/$/, 'still on the sign-in page');
  await screenshot(page, 'sign-in-cancelled');
  await context.close();
});

test('a browser without passkeys is pointed to email links and the QR login', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  // A browser without WebAuthn at all.
  await page.addInitScript(() => {
    delete window.PublicKeyCredential;
  });
  await open(page, server.url('/'));
  assert.equal(await page.textContent('#supports-passkeys'), 'no');
  assert.equal(await page.textContent('#best-method'), 'magic-link');
  assert.equal(await page.isDisabled('#sign-in'), true);
  assert.equal(await page.isDisabled('#sign-up'), true);
  assert.equal(await page.isDisabled('#email-link'), false);
  await waitForText(page, '#status', /^This browser cannot use passkeys: email yourself a sign-in link, or use the QR login/);
  await screenshot(page, 'sign-in-no-webauthn');
  await context.close();
});

test('asking for too many links is "rate limited", in words', async () => {
  const { page, context } = await newDevice(browser);
  await open(page, server.url('/'));
  await page.fill('#email', 'many-links@example.com');
  // The default budget is 5 links per 15 minutes per address and email.
  for (let i = 0; i < 5; i += 1) {
    await page.click('#email-link');
    await waitForText(page, '#status', /^We sent a sign-in link to many-links@example\.com/);
    await page.evaluate(() => {
      document.getElementById('status').textContent = '';
    });
  }
  await page.click('#email-link');
  await waitForText(page, '#error', /^Too many attempts: please wait a few minutes/);
  await screenshot(page, 'sign-in-rate-limited');
  await context.close();
});

test('the sign-in page fits 375 px and has a dark scheme', async () => {
  const phone = await newDevice(browser, { viewport: PHONE });
  await open(phone.page, server.url('/'));
  await assertFitsWidth(phone.page);
  await screenshot(phone.page, 'sign-in-375px');
  await phone.context.close();

  const dark = await newDevice(browser, { colorScheme: 'dark' });
  await open(dark.page, server.url('/'));
  const background = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(17, 19, 26)');
  await screenshot(dark.page, 'sign-in-dark', { docs: true });
  await dark.context.close();
});

test('the sign-in page can be used from the keyboard in a sensible order', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  await open(page, server.url('/'));
  const order = [];
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()));
  }
  const at = (name) => order.indexOf(name);
  assert.ok(at('email') >= 0, `email is reachable: ${order}`);
  assert.ok(at('email') < at('sign-in') && at('sign-in') < at('email-link') && at('email-link') < at('sign-up'), `order: ${order}`);
  // Every input has a label.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input')].filter((input) => !input.labels?.length).map((input) => input.id),
  );
  assert.deepEqual(unlabelled, []);
  await screenshot(page, 'sign-in-keyboard', { fullPage: false });
  await context.close();
});

test('every screen fits 375 px in both schemes, with one h1, labels, live regions, document focus order', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, context } = await newDevice(browser, { viewport: PHONE, colorScheme, authenticator: false });
    for (const path of ['/', '/mailbox.html', '/verify.html?token=none', '/qr.html', '/phone.html?session=x&code=required', '/account.html']) {
      await open(page, server.url(path));
      await assertFitsWidth(page);
      const markup = await page.evaluate(() => ({
        h1: document.querySelectorAll('h1').length,
        unlabelled: [...document.querySelectorAll('input')].filter((i) => !i.labels?.length).map((i) => i.id),
        status: document.getElementById('status')?.getAttribute('role'),
        error: document.getElementById('error')?.getAttribute('role'),
        lang: document.documentElement.lang,
        // The focus order is the document order: no positive tabindex anywhere.
        reordered: document.querySelectorAll('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])').length,
      }));
      assert.deepEqual(markup, { h1: 1, unlabelled: [], status: 'status', error: 'alert', lang: 'en', reordered: 0 }, path);
      const name = path.slice(1).split(/[.?]/)[0] || 'index';
      await screenshot(page, `375px-${colorScheme}-${name}`);
    }
    await context.close();
  }
});

test('passkey providers are named from the AAGUID list shipped with the demo', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  await open(page, server.url('/account.html'));
  const names = await page.evaluate(async () => {
    const { providerName } = await import('./providers.js');
    return [
      providerName('08987058-cadc-4b81-b6e1-30de50dcbe96'),
      providerName('08987058-CADC-4B81-B6E1-30DE50DCBE96'),
      providerName('00000000-0000-0000-0000-000000000000'),
      providerName(undefined),
    ];
  });
  assert.deepEqual(names, ['Windows Hello', 'Windows Hello', undefined, undefined]);
  await screenshot(page, 'account-signed-out');
  await context.close();
});
