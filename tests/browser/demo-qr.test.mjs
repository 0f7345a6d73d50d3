// QR login between two browser contexts — a desktop and a phone, each with its own
// virtual authenticator — with and without a confirmation code, a wrong code, cancel and
// retry, and an expired QR code.
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
  PHONE,
} from './demo-helpers.mjs';

let browser;
const servers = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
  releaseDemo();
});

async function demo(env) {
  const server = await startDemo(env);
  servers.push(server);
  return server;
}

/** A phone whose own authenticator holds a passkey of `email`'s new account. */
async function phoneWithPasskey(server, email) {
  const phone = await newDevice(browser, { viewport: PHONE });
  await signUp(phone.page, server, email);
  return phone;
}

/** Opens the desktop QR page and waits for a code; returns the phone URL it encodes. */
async function showQr(page, server) {
  await open(page, server.url('/qr.html'));
  await waitForText(page, '#qr-state', /^waiting$/);
  // The SDK's SVG is in the page.
  assert.equal(await page.locator('#qr-code svg path').count(), 1);
  const url = await page.getAttribute('#phone-link', 'href');
  assert.match(url, new RegExp(`^${server.origin}/phone\\.html\\?session=[0-9a-f-]{36}`));
  return url;
}

test('a phone signs the desktop in by QR (no confirmation code)', async () => {
  const server = await demo();
  const phone = await phoneWithPasskey(server, 'qr-phone@example.com');
  const desktop = await newDevice(browser);

  const url = await showQr(desktop.page, server);
  assert.doesNotMatch(url, /code=/, 'no code asked when the server has none');
  assert.equal(await desktop.page.isVisible('#code-box'), false);
  assert.equal(await desktop.page.isVisible('#cancel'), true);
  await screenshot(desktop.page, 'qr-desktop');

  await open(phone.page, url);
  assert.equal(await phone.page.isVisible('#code-field'), false);
  await assertFitsWidth(phone.page);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#status', /^Done: your computer is signed in\./);
  await screenshot(phone.page, 'qr-phone-done');

  await desktop.page.waitForURL(/account\.html$/);
  await desktop.page.waitForSelector('body[data-ready="true"]');
  await waitForText(desktop.page, '#who', /^Signed in as qr-phone@example\.com \(QR code from a phone\)\.$/);
  await assertNoError(desktop.page);
  assert.deepEqual(desktop.errors, []);
  await phone.context.close();
  await desktop.context.close();
});

test('cancel stops a QR login, the phone is told, and retry starts a new one', async () => {
  const server = servers[0];
  const phone = await phoneWithPasskey(server, 'qr-cancel@example.com');
  const desktop = await newDevice(browser);
  const url = await showQr(desktop.page, server);

  await desktop.page.click('#cancel');
  await waitForText(desktop.page, '#qr-state', /^cancelled$/);
  await waitForText(desktop.page, '#status', /^QR login cancelled\./);
  assert.equal(await desktop.page.isVisible('#qr-code'), false);
  assert.equal(await desktop.page.isVisible('#retry'), true);
  assert.equal(await desktop.page.evaluate(() => document.activeElement.id), 'retry');
  await screenshot(desktop.page, 'qr-cancelled');

  await open(phone.page, url);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', /^This QR login was cancelled on the computer\.$/);
  await screenshot(phone.page, 'qr-phone-cancelled');

  await desktop.page.click('#retry');
  await waitForText(desktop.page, '#qr-state', /^waiting$/);
  const again = await desktop.page.getAttribute('#phone-link', 'href');
  assert.notEqual(again, url);
  await phone.context.close();
  await desktop.context.close();
});

test('a cancelled passkey prompt on the phone says so and can be retried', async () => {
  const server = servers[0];
  const phone = await phoneWithPasskey(server, 'qr-retry@example.com');
  const desktop = await newDevice(browser);
  const url = await showQr(desktop.page, server);

  await open(phone.page, url);
  await phone.webauthn.cdp.send('WebAuthn.setUserVerified', {
    authenticatorId: phone.webauthn.authenticatorId,
    isUserVerified: false,
  });
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', /the passkey prompt was cancelled/);
  await screenshot(phone.page, 'qr-phone-prompt-cancelled');

  await phone.webauthn.cdp.send('WebAuthn.setUserVerified', {
    authenticatorId: phone.webauthn.authenticatorId,
    isUserVerified: true,
  });
  await phone.page.click('#approve');
  await waitForText(phone.page, '#status', /^Done/);
  await desktop.page.waitForURL(/account\.html$/);
  await waitForText(desktop.page, '#who', /^Signed in as qr-retry@example\.com/);
  await phone.context.close();
  await desktop.context.close();
});

test('with a confirmation code: the phone asks for it, a wrong one is refused', async () => {
  const server = await demo({ PASSKEY_MAGIC_QR_CONFIRMATION: 'true' });
  const phone = await phoneWithPasskey(server, 'qr-code@example.com');
  const desktop = await newDevice(browser);

  const url = await showQr(desktop.page, server);
  assert.match(url, /[?&]code=required/);
  const code = (await desktop.page.textContent('#confirmation-code')).trim();
  assert.match(code, /^[0-9]{6}$/);
  // Screen readers get it digit by digit.
  assert.equal(await desktop.page.textContent('#confirmation-code-spoken'), [...code].join(' '));
  await screenshot(desktop.page, 'qr-desktop-code', { docs: true });

  await open(phone.page, url);
  assert.equal(await phone.page.isVisible('#code-field'), true);
  assert.equal(await phone.page.evaluate(() => document.activeElement.id), 'code');
  const wrong = code === '000000' ? '111111' : '000000';
  await phone.page.fill('#code', wrong);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', /^That code does not match the one on your computer/);
  await screenshot(phone.page, 'qr-phone-wrong-code');
  // The desktop saw the scan, and still waits.
  await waitForText(desktop.page, '#qr-state', /^scanned$/);
  await waitForText(desktop.page, '#status', /^Scanned\. Finish on your phone\.$/);

  await phone.page.fill('#code', code);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#status', /^Done/);
  await desktop.page.waitForURL(/account\.html$/);
  await waitForText(desktop.page, '#who', /^Signed in as qr-code@example\.com \(QR code from a phone\)\.$/);
  await phone.context.close();
  await desktop.context.close();
});

test('a phone page opened without the code hint asks for the code when the server wants one', async () => {
  const server = servers[1];
  const phone = await phoneWithPasskey(server, 'qr-hint@example.com');
  const desktop = await newDevice(browser);
  const url = await showQr(desktop.page, server);
  const code = (await desktop.page.textContent('#confirmation-code')).trim();

  // The same login, from a QR code made by some other app: no hint in the URL.
  await open(phone.page, url.replace(/&code=required/, ''));
  assert.equal(await phone.page.isVisible('#code-field'), false);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', /^This sign-in needs the code shown on your computer/);
  assert.equal(await phone.page.isVisible('#code-field'), true);
  assert.equal(await phone.page.evaluate(() => document.activeElement.id), 'code');
  await screenshot(phone.page, 'qr-phone-code-asked');
  await phone.page.fill('#code', code);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#status', /^Done/);
  await desktop.page.waitForURL(/account\.html$/);
  await desktop.page.waitForSelector('body[data-ready="true"]');
  await waitForText(desktop.page, '#who', /^Signed in as qr-hint@example\.com \(QR code from a phone\)\.$/);
  await phone.context.close();
  await desktop.context.close();
});

test('an expired QR code says so on both devices, and retry shows a fresh one', async () => {
  const server = await demo({ PASSKEY_MAGIC_QR_TTL: '4' });
  const phone = await phoneWithPasskey(server, 'qr-late@example.com');
  const desktop = await newDevice(browser);
  const url = await showQr(desktop.page, server);

  await waitForText(desktop.page, '#qr-state', /^expired$/, 30_000);
  await waitForText(desktop.page, '#status', /^This QR code expired\./);
  assert.equal(await desktop.page.isVisible('#retry'), true);
  assert.equal(await desktop.page.isVisible('#cancel'), false);
  await screenshot(desktop.page, 'qr-expired');

  await open(phone.page, url);
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', /^This QR code has expired/);
  await screenshot(phone.page, 'qr-phone-expired');

  // A new login with a new code (which, in this server, soon expires too).
  await desktop.page.click('#retry');
  await desktop.page.waitForFunction(
    (old) => document.getElementById('phone-link').getAttribute('href') !== old,
    url,
  );
  await phone.context.close();
  await desktop.context.close();
});
