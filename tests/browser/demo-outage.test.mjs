// The server stops while every screen is open: each says so in words, none crashes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo,
  releaseDemo,
  launchChromium,
  newDevice,
  open,
  waitForText,
  screenshot,
  signUp,
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

const UNREACHABLE = /^The server cannot be reached\. Is the demo still running\?/;

test('with the server stopped mid-way, every screen says it cannot reach it', async () => {
  // Open every screen while the server runs.
  const account = await newDevice(browser);
  await signUp(account.page, server, 'outage@example.com');
  const signIn = await newDevice(browser);
  await open(signIn.page, server.url('/'));
  await signIn.page.fill('#email', 'outage@example.com');
  const mailbox = await newDevice(browser, { authenticator: false });
  await open(mailbox.page, server.url('/mailbox.html'));
  const desktop = await newDevice(browser);
  await open(desktop.page, server.url('/qr.html'));
  await waitForText(desktop.page, '#qr-state', /^waiting$/);
  const phone = await newDevice(browser, { viewport: PHONE });
  await signUp(phone.page, server, 'outage-phone@example.com');
  await open(phone.page, await desktop.page.getAttribute('#phone-link', 'href'));

  await server.stop();

  // Sign in: the passkey button and the email link.
  await signIn.page.click('#sign-in');
  await waitForText(signIn.page, '#error', UNREACHABLE);
  await signIn.page.click('#email-link');
  await waitForText(signIn.page, '#error', UNREACHABLE);
  await screenshot(signIn.page, 'outage-sign-in');

  // Account: saving the name, adding a passkey.
  await account.page.fill('#display-name', 'Nobody');
  await account.page.click('#save-profile');
  await waitForText(account.page, '#error', UNREACHABLE);
  await account.page.click('#add-passkey');
  await waitForText(account.page, '#error', UNREACHABLE);
  assert.equal(await account.page.isVisible('#account-body'), true, 'an outage is not a sign-out');
  await screenshot(account.page, 'outage-account');

  // QR desktop: its live status stops with a message and a retry button.
  await waitForText(desktop.page, '#error', UNREACHABLE, 30_000);
  assert.equal(await desktop.page.isVisible('#retry'), true);
  await screenshot(desktop.page, 'outage-qr-desktop');

  // QR phone.
  await phone.page.click('#approve');
  await waitForText(phone.page, '#error', UNREACHABLE);
  await screenshot(phone.page, 'outage-qr-phone');

  // Dev mailbox.
  await mailbox.page.click('#refresh');
  await waitForText(mailbox.page, '#error', UNREACHABLE);
  await screenshot(mailbox.page, 'outage-mailbox');

  for (const device of [account, signIn, mailbox, desktop, phone]) {
    assert.deepEqual(device.errors, [], 'no uncaught page errors');
    await device.context.close();
  }
});
