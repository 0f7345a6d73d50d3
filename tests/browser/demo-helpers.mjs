// Helpers of the demo's browser tests (demo*.test.mjs): the demo exactly as the README
// starts it (`scripts/demo`, with extra PASSKEY_MAGIC_* settings where a test needs them),
// one browser context per device with its own virtual authenticator, screenshots, and
// waiting for what the page says.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { freshDatabaseUrl, launchChromium } from './harness.mjs';
import { addVirtualAuthenticator } from './webauthn.mjs';

export { launchChromium };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const screenshots = path.join(root, 'target/screenshots');
const docs = path.join(root, 'docs');
const lockDir = path.join(root, 'target/demo-tests.lock');

/** A phone-sized and a desktop-sized viewport. */
export const PHONE = { width: 375, height: 760 };
export const DESKTOP = { width: 1100, height: 900 };

/**
 * `scripts/demo` rebuilds the npm package and re-vendors it into www-example, so two demo
 * test files must not run at once: each holds this lock (a directory) from its first
 * server start to its end. A lock left by a dead process is taken over.
 */
async function lockDemo() {
  mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      process.once('exit', () => unlockDemo());
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner;
      try {
        owner = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        owner = undefined; // being created or removed right now
      }
      if (owner && !isAlive(owner)) unlockDemo(true);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let locked = false;
function unlockDemo(force = false) {
  if (!locked && !force) return;
  locked = false;
  try {
    rmSync(lockDir, { recursive: true, force: true });
  } catch {
    // already gone
  }
}

/**
 * Starts the demo through `scripts/demo` on a free port with a fresh database, plus
 * `env` (e.g. `{ PASSKEY_MAGIC_QR_CONFIRMATION: 'true' }`).
 */
export async function startDemo(env = {}) {
  if (!locked) {
    await lockDemo();
    locked = true;
  }
  const child = spawn(path.join(root, 'scripts/demo'), [], {
    cwd: root,
    env: {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      PASSKEY_MAGIC_LISTEN: '127.0.0.1:0',
      PASSKEY_MAGIC_DATABASE_URL: freshDatabaseUrl(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the demo did not start: ${output}`)), 600_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}: ${output}`));
    });
  });
  // "localhost" (not 127.0.0.1): a secure context whose host is the WebAuthn rp id.
  const base = origin.replace('127.0.0.1', 'localhost');
  return {
    origin: base,
    url: (p) => new URL(p, base).toString(),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Releases the demo lock (call in `after`, once the file's servers are stopped). */
export function releaseDemo() {
  unlockDemo();
}

/**
 * A new device: its own browser context (storage, cookies) and page, with its own
 * virtual passkey authenticator unless `authenticator` is false.
 */
export async function newDevice(browser, { viewport = DESKTOP, colorScheme = 'light', authenticator = true } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  const webauthn = authenticator ? await addVirtualAuthenticator(page) : undefined;
  return { context, page, webauthn, errors };
}

/** Opens a demo page and waits until its script says it is ready. */
export async function open(page, url) {
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
}

/** Waits until the element's text matches `pattern`, then returns the text. */
export async function waitForText(page, selector, pattern, timeout = 20_000) {
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => {
        const node = document.querySelector(sel);
        return node && new RegExp(source, flags).test(node.textContent);
      },
      [selector, pattern.source, pattern.flags],
      { timeout },
    );
  } catch (error) {
    const text = await page.textContent(selector).catch(() => '(missing)');
    throw new Error(`${selector} never matched ${pattern}: it says ${JSON.stringify(text)}`, { cause: error });
  }
  return page.textContent(selector);
}

/** The page's alert region must stay empty. */
export async function assertNoError(page) {
  assert.equal(await page.textContent('#error'), '');
}

/**
 * Saves a screenshot (of the full page unless `fullPage` is false, e.g. for a modal) as
 * target/screenshots/NAME.png, and as docs/NAME.png too when `docs` is set (the README's
 * pictures come from here, so they stay true).
 */
export async function screenshot(page, name, { docs: forDocs = false, fullPage = true } = {}) {
  mkdirSync(screenshots, { recursive: true });
  const file = path.join(screenshots, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  if (forDocs) {
    mkdirSync(docs, { recursive: true });
    copyFileSync(file, path.join(docs, `${name}.png`));
  }
  return file;
}

/** Fails when the page is wider than its viewport (nothing may scroll sideways). */
export async function assertFitsWidth(page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
}

/** The dev outbox's messages (newest first), read like the mailbox page does. */
export async function outbox(server) {
  const response = await fetch(server.url('/auth/dev/outbox'));
  assert.equal(response.status, 200);
  return (await response.json()).messages;
}

/** Signs up on the sign-in page with a passkey (optionally with an email). */
export async function signUp(page, server, email) {
  await open(page, server.url('/'));
  if (email) await page.fill('#email', email);
  await page.click('#sign-up');
  await page.waitForURL(/account\.html$/, { timeout: 30_000 });
  await page.waitForSelector('body[data-ready="true"]');
  await waitForText(page, '#who', /^Signed in as /);
}

/**
 * Opens the sign-in page on a device that holds a passkey, as a person who ignores the
 * passkey suggested in the email field. (Chromium's virtual authenticator answers a
 * conditional — autofill — request at once when it can simulate the person's presence, so
 * presence is off until the page's autofill request is pending.)
 */
export async function openSignIn(device, server) {
  const { cdp, authenticatorId } = device.webauthn;
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  const options = device.page.waitForResponse((response) => response.url().endsWith('/auth/passkey/authenticate/options'));
  await open(device.page, server.url('/'));
  await options;
  // The SDK hands the options to navigator.credentials.get right after they arrive.
  await device.page.waitForTimeout(500);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
}
