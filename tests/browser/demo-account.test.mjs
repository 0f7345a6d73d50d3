// The account page, every action: passkeys (rename, add, remove, the last one protected),
// email (link pending its confirmation, confirmed from the dev mailbox, in use, unlink), display name, sessions (revoke one, all others, seen from
// the other browser), recent activity (the security log, a page at a time), and deleting
// the account.
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
  outbox,
  PHONE,
} from './demo-helpers.mjs';
import { addVirtualAuthenticator } from './webauthn.mjs';

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

/** Signs `email` in on a new device with a link from the dev outbox. */
async function signInByLink(email, options) {
  const device = await newDevice(browser, options);
  await open(device.page, server.url('/'));
  await device.page.fill('#email', email);
  await device.page.click('#email-link');
  await waitForText(device.page, '#status', /^We sent a sign-in link/);
  const [message] = await outbox(server);
  assert.equal(message.email, email);
  await device.page.goto(message.url);
  await device.page.waitForURL(/verify\.html/);
  await waitForText(device.page, '#status', /^Signed in\.$/);
  await open(device.page, server.url('/account.html'));
  return device;
}

const passkeyTitles = (page) => page.$$eval('#passkeys li.passkey .item-title', (nodes) => nodes.map((n) => n.textContent));
/** The "Recent activity" entries as `[type, title]`, newest first. */
const activity = (page) =>
  page.$$eval('#activity li.event', (nodes) => nodes.map((n) => [n.dataset.eventType, n.querySelector('.item-title').textContent]));

test('passkeys: the last one is protected; rename, add another, remove', async () => {
  const { page, webauthn, errors, context } = await newDevice(browser);
  page.on('dialog', (dialog) => dialog.accept());
  await signUp(page, server);
  assert.match(await page.textContent('#who'), /^Signed in as account [0-9a-z-]{8} \(Passkey\)\.$/);
  assert.equal(await page.textContent('#email-current'), 'No email linked: you sign in with passkeys only.');

  // One passkey, no email: removing it would lock the person out.
  assert.deepEqual(await passkeyTitles(page), ['Passkey 1']);
  const facts = await page.$$eval('#passkeys li.passkey dd', (nodes) => nodes.map((n) => n.textContent));
  assert.equal(facts[0], 'unknown provider', 'the virtual authenticator is not a known provider');
  assert.equal(facts[2], 'not yet', 'a passkey just registered has not signed in yet');
  assert.equal(await page.isDisabled('#passkeys li.passkey button:has-text("Remove")'), true);
  assert.match(await page.textContent('#passkeys .hint'), /only way to sign in/);

  await page.click('#passkeys button:has-text("Rename")');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'passkey-0-label');
  await page.fill('#passkey-0-label', 'Work laptop');
  await page.click('#passkeys button:has-text("Save")');
  await waitForText(page, '#status', /^Passkey renamed to “Work laptop”\.$/);
  assert.deepEqual(await passkeyTitles(page), ['Work laptop']);
  // The rename is the newest entry of "Recent activity", above the sign-up's sign-in.
  const recent = await activity(page);
  assert.deepEqual(recent.map(([type]) => type), ['passkeyRenamed', 'signIn']);
  assert.match(recent[0][1], /^Passkey renamed · now named “Work laptop” · .+:\d\d:\d\d/);
  assert.match(recent[1][1], /^Signed in · with a passkey, “Work laptop”, this session · /);
  const from = await page.textContent('#activity li.event:first-child dd');
  assert.match(from, /^Chrome(ium)? \d+ .*on Linux at 127\.0\.0\.1$/);
  assert.equal(await page.isHidden('#activity-more'), true, 'two events fit one page');

  // A second device's authenticator (a security key, say) adds another passkey.
  await webauthn.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: webauthn.authenticatorId });
  const key = await addVirtualAuthenticator(page);
  await page.click('#add-passkey');
  await waitForText(page, '#status', /^New passkey added\.$/);
  assert.equal((await passkeyTitles(page)).length, 2);
  assert.equal(await page.isDisabled('#passkeys li.passkey:first-child button:has-text("Remove")'), false);
  await screenshot(page, 'account-two-passkeys');

  // Remove the first one; the new one still signs in.
  await page.click('#passkeys li.passkey:has-text("Work laptop") button:has-text("Remove")');
  await waitForText(page, '#status', /^Passkey “Work laptop” removed\.$/);
  assert.deepEqual(await passkeyTitles(page), ['Passkey 1']);
  await page.click('#sign-out');
  await waitForText(page, '#status', /^Signed out\.$/);
  await openSignIn({ page, webauthn: key }, server);
  await page.click('#sign-in');
  await page.waitForURL(/account\.html$/);
  await waitForText(page, '#who', /^Signed in as account/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('recent activity: newest first, "Show more" reads the next page', async () => {
  const { page, errors, context } = await newDevice(browser);
  await signUp(page, server);
  // Eleven events: the sign-up's sign-in and ten renames; a page shows eight.
  for (let n = 1; n <= 10; n += 1) {
    await page.click('#passkeys button:has-text("Rename")');
    await page.fill('#passkey-0-label', `Key ${n}`);
    await page.click('#passkeys button:has-text("Save")');
    await waitForText(page, '#status', new RegExp(`^Passkey renamed to “Key ${n}”\\.$`));
  }
  let shown = await activity(page);
  assert.equal(shown.length, 8);
  assert.deepEqual(shown.map(([type]) => type), Array(8).fill('passkeyRenamed'));
  assert.equal(await page.isVisible('#activity-more'), true);
  await screenshot(page, 'account-activity');
  await page.click('#activity-more');
  await page.waitForFunction(() => document.querySelectorAll('#activity li.event').length === 11);
  shown = await activity(page);
  assert.deepEqual(shown.slice(8).map(([type]) => type), ['passkeyRenamed', 'passkeyRenamed', 'signIn']);
  assert.equal(await page.isHidden('#activity-more'), true, 'the last page has no cursor');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.eventType), 'passkeyRenamed');
  await assertFitsWidth(page);
  await screenshot(page, 'account-activity-all');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a cancelled prompt while adding a passkey says so', async () => {
  const { page, webauthn, context } = await newDevice(browser);
  await signUp(page, server);
  await webauthn.cdp.send('WebAuthn.setUserVerified', {
    authenticatorId: webauthn.authenticatorId,
    isUserVerified: false,
  });
  await page.click('#add-passkey');
  await waitForText(page, '#error', /^No passkey was made, so we could not add the passkey: the passkey prompt was cancelled/);
  assert.equal(await page.locator('#passkeys li.passkey').count(), 1);
  await screenshot(page, 'account-add-cancelled');
  await context.close();
});

test('email: link, refuse one in use, unlink; display name', async () => {
  const { page, context } = await newDevice(browser);
  await signUp(page, server, 'owner@example.com');
  const other = await newDevice(browser);
  await signUp(other.page, server);

  // Someone else's email is refused, in words.
  await other.page.fill('#link-email', 'owner@example.com');
  await other.page.click('#link-email-button');
  await waitForText(other.page, '#error', /^That email belongs to another account/);

  // Linking is verified: the address waits for its confirmation, shown as pending.
  await other.page.fill('#link-email', 'second@example.com');
  await other.page.click('#link-email-button');
  await waitForText(other.page, '#status', /^Confirmation sent to second@example\.com/);
  assert.equal(await other.page.textContent('#email-current'), 'No email linked: you sign in with passkeys only.');
  assert.match(await other.page.textContent('#email-pending'), /^Waiting for confirmation: we sent a link to second@example\.com\./);
  await screenshot(other.page, 'account-email-pending');
  await other.page.reload();
  await waitForText(other.page, '#email-pending', /^Waiting for confirmation/);

  // The confirmation link, opened from the dev mailbox, links the address.
  const [confirmation] = await outbox(server);
  assert.equal(confirmation.email, 'second@example.com');
  await open(other.page, server.url('/mailbox.html'));
  await waitForText(other.page, '#messages li .item-title', /^Email confirmation for second@example\.com$/);
  await other.page.click(`a[href="${confirmation.url}"]`);
  await other.page.waitForURL(/verify\.html/);
  await waitForText(other.page, '#status', /^Signed in\.$/);
  await open(other.page, server.url('/account.html'));
  await waitForText(other.page, '#email-current', /^Linked: second@example\.com$/);
  assert.equal(await other.page.isHidden('#email-pending'), true);
  assert.equal(await other.page.textContent('#link-email-button'), 'Change email');

  await other.page.fill('#display-name', 'Grace Hopper');
  await other.page.click('#save-profile');
  await waitForText(other.page, '#status', /^Display name saved: Grace Hopper\.$/);
  // The confirmation link signed this browser in again, by email link.
  assert.match(await other.page.textContent('#who'), /^Signed in as Grace Hopper \(Email link\)\.$/);
  await other.page.reload();
  await waitForText(other.page, '#who', /^Signed in as Grace Hopper/);
  assert.equal(await other.page.inputValue('#display-name'), 'Grace Hopper');

  await other.page.click('#unlink-email');
  await waitForText(other.page, '#status', /^Email unlinked/);
  assert.equal(await other.page.textContent('#email-current'), 'No email linked: you sign in with passkeys only.');
  await assertNoError(other.page);
  await screenshot(other.page, 'account-email-unlinked');
  await other.context.close();
  await context.close();
});

test('sessions: the current one is marked; revoke one, all others, everywhere', async () => {
  const { page, context } = await newDevice(browser);
  await signUp(page, server, 'sessions@example.com');
  await page.fill('#display-name', 'Ada Lovelace');
  await page.click('#save-profile');
  await waitForText(page, '#status', /^Display name saved/);
  await page.click('#passkeys button:has-text("Rename")');
  await page.fill('#passkey-0-label', 'Work laptop');
  await page.click('#passkeys button:has-text("Save")');
  await waitForText(page, '#status', /^Passkey renamed/);

  const laptop = await signInByLink('sessions@example.com');
  const phone = await signInByLink('sessions@example.com', { viewport: PHONE });
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.locator('#sessions li.session').count(), 3);
  const first = page.locator('#sessions li.session').first();
  assert.match(await first.textContent(), /^Passkey · .*this session/);
  assert.match(await page.locator('#sessions li.session').nth(1).textContent(), /^Email link · /);
  assert.equal(await first.locator('button:has-text("Revoke")').count(), 0);
  await screenshot(page, 'account', { docs: true });
  await assertFitsWidth(phone.page);
  await screenshot(phone.page, 'account-375px');

  // Revoke the phone's session: the phone's page notices by itself.
  const phoneSession = await phone.page.evaluate(
    () => document.querySelector('#sessions li.session .badge.current').closest('li').dataset.sessionId,
  );
  await page.click(`#sessions li[data-session-id="${phoneSession}"] button:has-text("Revoke")`);
  await waitForText(page, '#status', /^Session revoked/);
  assert.equal(await page.locator('#sessions li.session').count(), 2);
  await waitForText(phone.page, '#status', /^This session has ended \(signed out elsewhere\)\.$/, 20_000);

  await page.click('#revoke-others');
  await waitForText(page, '#status', /^Signed out 1 other session\.$/);
  assert.equal(await page.locator('#sessions li.session').count(), 1);
  assert.equal(await page.isDisabled('#revoke-others'), true);
  await laptop.page.reload();
  await laptop.page.waitForSelector('body[data-ready="true"]');
  assert.equal(await laptop.page.isVisible('#signed-out'), true);
  await laptop.context.close();

  // Sign out everywhere: another browser and this one.
  const tablet = await signInByLink('sessions@example.com');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.locator('#sessions li.session').count(), 2);
  await page.click('#revoke-all');
  await waitForText(page, '#status', /^Signed out everywhere, this browser too\.$/);
  assert.equal(await page.isVisible('#signed-out'), true);
  await tablet.page.reload();
  await tablet.page.waitForSelector('body[data-ready="true"]');
  assert.equal(await tablet.page.isVisible('#signed-out'), true);
  await tablet.context.close();
  await phone.context.close();
  await context.close();
});

test('deleting the account asks first, then signs out everywhere', async () => {
  const device = await newDevice(browser);
  const { page, context } = device;
  await signUp(page, server, 'leaving@example.com');

  await page.click('#delete-account');
  assert.equal(await page.isVisible('#delete-dialog'), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'delete-cancel');
  await screenshot(page, 'account-delete-dialog', { fullPage: false });
  await page.click('#delete-cancel');
  assert.equal(await page.isVisible('#delete-dialog'), false);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'delete-account');
  assert.equal(await page.isVisible('#account-body'), true);

  await page.click('#delete-account');
  await page.click('#delete-confirm');
  await waitForText(page, '#status', /^Your account was deleted/);
  assert.equal(await page.isVisible('#signed-out'), true);

  // Its passkey no longer signs in, and its email is free again.
  await openSignIn(device, server);
  await page.click('#sign-in');
  await waitForText(page, '#error', /^This passkey is not known here \(its account may have been deleted\)/);
  assert.match(page.url(), /\/$/);
  const response = await fetch(server.url('/auth/account/email-available'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'leaving@example.com' }),
  });
  assert.deepEqual(await response.json(), { available: true });
  await screenshot(page, 'account-deleted-sign-in');
  await context.close();
});
