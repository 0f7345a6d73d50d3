// Magic links through the dev mailbox: a new user, then an existing one; the verify page
// says plainly when a link is spent or expired.
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
  screenshot,
  signUp,
  outbox,
} from './demo-helpers.mjs';

let server;
let browser;

before(async () => {
  // Links live 3 seconds here, so one can expire during the test.
  server = await startDemo({ PASSKEY_MAGIC_MAGIC_LINK_TTL: '3' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  releaseDemo();
});

/** Asks for a link on the sign-in page. */
async function askForLink(page, email) {
  await open(page, server.url('/'));
  await page.fill('#email', email);
  await page.click('#email-link');
  await waitForText(page, '#status', new RegExp(`^We sent a sign-in link to ${email.replace('.', '\\.')}`));
}

/** Opens the dev mailbox from the navigation and follows the newest link. */
async function followNewestLink(page, email) {
  await page.click('#nav-mailbox a');
  await page.waitForSelector('body[data-ready="true"]');
  await waitForText(page, '#messages li:first-child .item-title', new RegExp(`for ${email}$`));
  const href = await page.getAttribute('#messages li:first-child a', 'href');
  await page.click('#messages li:first-child a');
  await page.waitForURL(/verify\.html/);
  await page.waitForSelector('body[data-ready="true"]');
  return href;
}

test('a new person signs up with a link from the dev mailbox', async () => {
  const { page, errors, context } = await newDevice(browser);
  await askForLink(page, 'newcomer@example.com');
  // The status offers the mailbox in dev mode.
  assert.equal(await page.isVisible('#status a[href="mailbox.html"]'), true);

  const href = await followNewestLink(page, 'newcomer@example.com');
  assert.match(href, /[?&]token=/);
  await waitForText(page, '#result-title', /^Welcome!$/);
  assert.match(await page.textContent('#welcome'), /new account for newcomer@example\.com/);
  assert.equal(page.url(), server.url('/verify.html'), 'the spent token left the address bar');
  await assertNoError(page);
  await screenshot(page, 'verify-new-user');

  await page.click('#result a');
  await waitForText(page, '#who', /^Signed in as newcomer@example\.com \(Email link\)\.$/);
  assert.equal(await page.textContent('#email-current'), 'Linked: newcomer@example.com');
  assert.deepEqual(errors, []);
  await context.close();
});

test('an existing passkey user signs in with a link; the link works once', async () => {
  const first = await newDevice(browser);
  await signUp(first.page, server, 'regular@example.com');
  await first.context.close();

  // Another computer, without the passkey.
  const { page, context } = await newDevice(browser, { authenticator: false });
  await askForLink(page, 'someone-else@example.com');
  await askForLink(page, 'regular@example.com');
  const href = await followNewestLink(page, 'regular@example.com');
  await waitForText(page, '#result-title', /^Welcome back!$/);
  assert.equal(await page.textContent('#welcome'), 'You are signed in as regular@example.com.');

  // The mailbox lists the newest first.
  const messages = await outbox(server);
  assert.equal(messages[0].email, 'regular@example.com');
  assert.equal(messages[1].email, 'someone-else@example.com');
  await open(page, server.url('/mailbox.html'));
  const titles = await page.$$eval('#messages .item-title', (nodes) => nodes.map((n) => n.textContent));
  assert.deepEqual(titles.slice(0, 2), [
    'Sign-in link for regular@example.com',
    'Sign-in link for someone-else@example.com',
  ]);
  await screenshot(page, 'mailbox');

  // The same user as before: the account still has its passkey.
  await open(page, server.url('/account.html'));
  await waitForText(page, '#who', /^Signed in as regular@example\.com \(Email link\)\.$/);
  assert.equal(await page.locator('#passkeys li.passkey').count(), 1);

  // A spent link says so.
  await page.goto(href);
  await page.waitForSelector('body[data-ready="true"]');
  await waitForText(page, '#error', /^This sign-in link has already been used or has expired\./);
  assert.equal(await page.isVisible('#next a[href="index.html"]'), true);
  await screenshot(page, 'verify-used-link');
  await context.close();
});

test('an expired link says so', async () => {
  const { page, context } = await newDevice(browser);
  await askForLink(page, 'late@example.com');
  const [message] = await outbox(server);
  assert.equal(message.email, 'late@example.com');
  // Links live 3 s in this server: wait until this one is over.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await page.goto(message.url);
  await page.waitForURL(/verify\.html\?token=/);
  await page.waitForSelector('body[data-ready="true"]');
  await waitForText(page, '#error', /already been used or has expired/);
  await screenshot(page, 'verify-expired-link');
  await context.close();
});

test('the verify page without a token asks for the link again', async () => {
  const { page, context } = await newDevice(browser, { authenticator: false });
  await open(page, server.url('/verify.html'));
  await waitForText(page, '#error', /has no sign-in token/);
  await screenshot(page, 'verify-no-token');
  await context.close();
});
