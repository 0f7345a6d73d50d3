// The packed npm package in Chromium against the real `passkey-magic` binary: a fresh
// project installs the tarball and serves a page that imports it with an import map (no
// bundler); passkeys come from Chromium's virtual authenticator. Every member of the
// v0.4 client table is called at least once, grouped and flat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launchChromium } from './harness.mjs';
import { addVirtualAuthenticator } from './webauthn.mjs';
import { freshProject } from '../npm/project.mjs';

let project;
let server;
let confirming;
let browser;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>sdk</title>
<script type="importmap">{ "imports": { "passkey-magic-wasm": "./node_modules/passkey-magic-wasm/index.js" } }</script>
</head><body><input autocomplete="username webauthn">
<script type="module">
  window.sdk = await import('passkey-magic-wasm');
  document.body.dataset.ready = 'true';
</script></body></html>`;

before(async () => {
  project = freshProject();
  writeFileSync(path.join(project, 'index.html'), PAGE);
  // v0.4's immediate email linking: this file checks the SDK's v0.4 call shapes
  // (verified linking, the server's default, is covered by demo-account.test.mjs).
  const args = ['--dev', '--demo-dir', project, '--email-linking', 'immediate'];
  server = await startServer({ args });
  confirming = await startServer({ args: [...args, '--qr-confirmation', 'true'] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await confirming?.stop();
});

/** A page of the app with the SDK loaded and a virtual authenticator. */
async function appPage(context, target = server) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(target.url('/'));
  await page.waitForSelector('body[data-ready="true"]');
  await addVirtualAuthenticator(page);
  page.errors = errors;
  return page;
}

test('passkeys: register, sign out, sign in, autofill, add, list, rename, remove', async () => {
  const context = await browser.newContext();
  const page = await appPage(context);
  const result = await page.evaluate(async () => {
    const { createClient, AuthClientError } = window.sdk;
    const auth = createClient({ baseUrl: '/auth' });
    const out = {};
    out.supports = [auth.supportsPasskeys(), typeof (await auth.supportsAutofill()), typeof (await auth.hasPlatformAuthenticator())];
    out.best = await auth.getBestSignInMethod();
    const registered = await auth.passkeys.register({ email: 'ada@example.com' });
    out.registered = [registered.method, registered.user.email, typeof registered.session.token, typeof registered.credential.id];
    out.session = (await auth.getSession())?.user.id === registered.user.id;
    await auth.revokeSession();
    out.afterSignOut = await auth.getSession();
    const signedIn = await auth.passkeys.signIn();
    out.signedIn = signedIn.user.id === registered.user.id;

    // Autofill sign-in (the virtual authenticator answers the conditional request).
    const autofilled = await auth.passkeys.autofill();
    out.autofill = [autofilled.method, autofilled.user.id === registered.user.id];
    window.auth = auth;
    const other = createClient();
    const flat = await other.registerPasskey({});
    out.flat = flat.method;
    await other.signOut();
    out.signedOut = other.getSessionToken();
    return out;
  });
  assert.deepEqual(result.supports, [true, 'boolean', 'boolean']);
  assert.match(result.best, /^passkey(-autofill)?$/);
  assert.deepEqual(result.registered, ['passkey', 'ada@example.com', 'string', 'string']);
  assert.equal(result.session, true);
  assert.equal(result.afterSignOut, null);
  assert.equal(result.signedIn, true);
  assert.deepEqual(result.autofill, ['passkey', true]);
  assert.equal(result.flat, 'passkey');
  assert.equal(result.signedOut, null);

  // A pending autofill request (no user presence yet) is cancelled by a modal sign-in.
  const { cdp: presence, authenticatorId } = page.virtualAuthenticator;
  await presence.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  const aborted = await page.evaluate(async () => {
    // Its signal cancels it...
    const controller = new AbortController();
    const cancelled = window.auth.signInWithAutofill({}, { signal: controller.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 200));
    const reason = new Error('user typed an email instead');
    controller.abort(reason);
    const outcome = (await cancelled) === reason;
    // ...and so does a modal ceremony.
    window.pendingAutofill = window.auth.signInWithAutofill().then(() => 'resolved', (e) => [e.name, e.code]);
    await new Promise((r) => setTimeout(r, 200));
    return outcome;
  });
  assert.equal(aborted, true);
  await presence.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  const modal = await page.evaluate(async () => {
    const signedIn = await window.auth.signInWithPasskey();
    return [signedIn.method, await window.pendingAutofill];
  });
  assert.deepEqual(modal, ['passkey', ['AbortError', 'ERROR_CEREMONY_ABORTED']]);

  // The authenticator already holds this user's passkey (excluded): add new ones on
  // fresh authenticators, as a user adds a second device.
  const { cdp } = await addVirtualAuthenticator(page, { replace: true });
  const added = await page.evaluate(() => window.auth.passkeys.add({ userName: 'second' }));
  await addVirtualAuthenticator(page, { replace: true, cdp });
  const added2 = await page.evaluate(() => window.auth.addPasskey());
  const managed = await page.evaluate(async ({ first, second }) => {
    const { AuthClientError } = window.sdk;
    const auth = window.auth;
    const out = {};
    out.count = (await auth.passkeys.list()).credentials.length;
    await auth.passkeys.update({ credentialId: first, label: 'Laptop', metadata: { color: 'blue' } });
    await auth.updateCredential({ credentialId: second, label: 'Phone' });
    const renamed = (await auth.listCredentials()).credentials.find((c) => c.id === first);
    out.renamed = [renamed.label, renamed.metadata?.color];
    await auth.passkeys.remove(first);
    await auth.removeCredential(second);
    out.left = (await auth.listCredentials()).credentials.length;
    try {
      await auth.passkeys.update({ credentialId: 'not-mine', label: 'x' });
    } catch (error) {
      out.notMine = [error instanceof AuthClientError, error.status, error.reason];
    }
    return out;
  }, { first: added.credential.id, second: added2.credential.id });
  assert.deepEqual(managed, { count: 3, renamed: ['Laptop', 'blue'], left: 1, notMine: [true, 404, 'not_found'] });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('accounts and sessions: metadata, email link/unlink, session lists and revokes, delete', async () => {
  const context = await browser.newContext();
  const page = await appPage(context);
  const result = await page.evaluate(async () => {
    const { createClient } = window.sdk;
    const auth = createClient({ baseUrl: '/auth' });
    const out = {};
    const { user } = await auth.registerPasskey({});
    out.available = [await auth.accounts.isEmailAvailable('grace@example.com'), await auth.isEmailAvailable('not an email')];
    out.canLink = await auth.accounts.canLinkEmail('grace@example.com');
    out.updated = (await auth.accounts.updateMetadata({ plan: 'pro' })).user.metadata;
    out.updatedFlat = (await auth.updateAccountMetadata({ plan: 'free', seats: 2 })).user.metadata;
    out.account = [(await auth.accounts.get()).user.id === user.id, (await auth.getAccount()).user.metadata.seats];
    out.linked = (await auth.accounts.linkEmail('grace@example.com')).user.email;
    out.unlinked = (await auth.accounts.unlinkEmail()).user.email ?? null;
    out.linkedFlat = (await auth.linkEmail('grace2@example.com')).user.email;
    out.unlinkedFlat = (await auth.unlinkEmail()).user.email ?? null;

    // A second session of the same user (sign in again from another client).
    const second = createClient({ baseUrl: '/auth' });
    await second.signInWithPasskey();
    const third = createClient({ baseUrl: '/auth' });
    await third.passkeys.signIn();
    const { sessions } = await auth.listSessions();
    out.sessions = sessions.length;
    const mine = (await auth.getSession()).session.id;
    const secondId = (await second.getSession()).session.id;
    await auth.revokeSessionById(secondId);
    out.secondAfter = await second.getSession();
    await third.revokeAllSessions();
    out.allAfter = [await auth.getSession(), await third.getSession()];
    out.mineWasListed = sessions.some((s) => s.id === mine);

    const doomed = createClient({ baseUrl: '/auth' });
    await doomed.registerPasskey({});
    await doomed.accounts.delete();
    out.deleted = await doomed.getSession();
    const doomed2 = createClient({ baseUrl: '/auth' });
    await doomed2.registerPasskey({});
    await doomed2.deleteAccount();
    out.deleted2 = doomed2.getSessionToken();
    return out;
  });
  assert.deepEqual(result.available, [true, false]);
  assert.deepEqual(result.canLink, { ok: true });
  assert.deepEqual(result.updated, { plan: 'pro' });
  assert.deepEqual(result.updatedFlat, { plan: 'free', seats: 2 });
  assert.deepEqual(result.account, [true, 2]);
  assert.equal(result.linked, 'grace@example.com');
  assert.equal(result.unlinked, null);
  assert.equal(result.linkedFlat, 'grace2@example.com');
  assert.equal(result.unlinkedFlat, null);
  assert.equal(result.sessions, 3);
  assert.equal(result.mineWasListed, true);
  assert.equal(result.secondAfter, null);
  assert.deepEqual(result.allAfter, [null, null]);
  assert.equal(result.deleted, null);
  assert.equal(result.deleted2, null);
  await context.close();
});

/** Desktop and phone in two browser contexts: the phone registers, the desktop shows a QR code. */
async function qrLogin(target, confirm) {
  const desktopContext = await browser.newContext();
  const phoneContext = await browser.newContext();
  const desktop = await appPage(desktopContext, target);
  const phone = await appPage(phoneContext, target);
  const phoneUser = await phone.evaluate(async () => {
    window.auth = window.sdk.createClient();
    return (await window.auth.registerPasskey({})).user.id;
  });
  const created = await desktop.evaluate(async () => {
    window.auth = window.sdk.createClient();
    window.flow = await window.auth.qr.createFlow({ urlBuilder: (id) => `${location.origin}/qr/${id}` });
    window.states = [];
    window.done = (async () => {
      for await (const status of window.flow.poll({ interval: 100 })) window.states.push(status.state);
      return window.auth.getSession();
    })();
    return {
      sessionId: window.flow.sessionId,
      confirmationCode: window.flow.confirmationCode,
      svg: window.flow.render().startsWith('<svg'),
      text: window.flow.renderText().split('\n').length > 10,
    };
  });
  assert.equal(created.svg, true);
  assert.equal(created.text, true);
  assert.equal(typeof created.confirmationCode, confirm ? 'string' : 'undefined');
  await phone.evaluate(async ({ sessionId, confirmationCode }) => {
    if (confirmationCode) {
      await window.auth.completeQRSession({ sessionId, confirmationCode });
    } else {
      await window.auth.qr.complete({ sessionId });
    }
  }, created);
  const desktopSession = await desktop.evaluate(async () => {
    const current = await window.done;
    return { user: current?.user.id, method: current?.session.authMethod, last: window.states.at(-1) };
  });
  assert.deepEqual(desktopSession, { user: phoneUser, method: 'qr', last: 'authenticated' });
  await desktopContext.close();
  await phoneContext.close();
}

test('the security log: sign in, rename, then accounts.events pages through it', async () => {
  const context = await browser.newContext();
  const page = await appPage(context);
  const result = await page.evaluate(async () => {
    const { createClient, AuthClientError } = window.sdk;
    const auth = createClient({ baseUrl: '/auth' });
    const out = {};
    const signedUp = await auth.passkeys.register({});
    await auth.revokeSession();
    await auth.passkeys.signIn();
    const credentialId = signedUp.credential.id;
    await auth.passkeys.update({ credentialId, label: 'Chromium key' });
    const all = await auth.accounts.events();
    out.types = all.events.map((event) => event.type);
    out.times = all.events.map((event) => event.createdAt);
    out.next = all.nextCursor;
    out.newest = all.events.find((event) => event.type === 'passkeyRenamed');
    out.signIn = all.events.find((event) => event.type === 'signIn');
    out.userAgent = navigator.userAgent;
    out.credentialId = credentialId;
    const first = await auth.listAccountEvents({ limit: 2 });
    const rest = await auth.accounts.events({ limit: 2, cursor: first.nextCursor });
    out.paged = [...first.events, ...rest.events].map((event) => event.id);
    out.all = all.events.map((event) => event.id);
    out.lastCursor = rest.nextCursor;
    const bad = await auth.accounts.events({ limit: 0 }).catch((error) => error);
    out.bad = [bad instanceof AuthClientError, bad.status, bad.message];
    await auth.signOut();
    const signedOut = await auth.accounts.events().catch((error) => error);
    out.signedOut = signedOut.status;
    return out;
  });
  // Newest first (events within one millisecond may come in either order).
  assert.deepEqual([...result.types].sort(), ['passkeyRenamed', 'sessionRevoked', 'signIn', 'signIn']);
  assert.deepEqual(result.times, [...result.times].sort().reverse());
  assert.equal(result.next, null);
  assert.equal(result.newest.credentialId, result.credentialId);
  assert.equal(result.newest.userAgent, result.userAgent);
  assert.equal(result.newest.ipAddress, '127.0.0.1');
  assert.equal(result.signIn.method, 'passkey');
  assert.equal(typeof result.signIn.sessionId, 'string');
  assert.match(result.signIn.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual(result.paged, result.all);
  assert.equal(result.lastCursor, null);
  assert.deepEqual(result.bad, [true, 400, 'Invalid field: limit']);
  assert.equal(result.signedOut, 401);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test('QR login between two browser contexts without a confirmation code', async () => {
  await qrLogin(server, false);
});

test('QR login between two browser contexts with a confirmation code', async () => {
  await qrLogin(confirming, true);
});

test('QR: create, wait, confirm, cancel and poll through the flat and grouped members', async () => {
  const context = await browser.newContext();
  const page = await appPage(context, confirming);
  const result = await page.evaluate(async () => {
    const { createClient } = window.sdk;
    const desktop = createClient();
    const phone = createClient();
    await phone.registerPasskey({});
    const out = {};
    const one = await desktop.qr.create();
    const waiting = desktop.qr.waitForAuthentication(one.sessionId, one.statusToken, { interval: 50 });
    await phone.qr.complete({ sessionId: one.sessionId, confirmationCode: one.confirmationCode });
    out.session = typeof (await waiting).token;
    out.desktopSignedIn = (await desktop.getSession())?.session.authMethod;

    const two = await desktop.createQRSession();
    const waitingFlat = desktop.waitForQRSession(two.sessionId, two.statusToken, { interval: 50 }).catch((e) => e.message);
    await desktop.cancelQRSession({ sessionId: two.sessionId, statusToken: two.statusToken });
    out.cancelled = await waitingFlat;

    const three = await desktop.qr.create();
    const states = [];
    const polling = (async () => {
      for await (const s of desktop.pollQRSession(three.sessionId, three.statusToken, { interval: 50 })) states.push(s.state);
    })();
    await desktop.qr.cancel({ sessionId: three.sessionId, statusToken: three.statusToken });
    await polling;
    out.polled = states.at(-1);
    out.render = [desktop.renderQR(three.sessionId), desktop.qr.render(three.sessionId, { border: 2 })].every((svg) => svg.startsWith('<svg')) && desktop.qr.renderText(three.sessionId).length > 100 && desktop.renderQRText('x').length > 10;
    const grouped = [];
    for await (const s of desktop.qr.poll(three.sessionId, three.statusToken)) grouped.push(s.state);
    out.groupedPoll = grouped;

    const four = await desktop.qr.create();
    try {
      await phone.completeQRSession({ sessionId: four.sessionId, confirmationCode: '0' });
    } catch (error) {
      out.wrongCode = error.status; // scanned, then the wrong code
    }
    out.confirmed = await phone.qr.confirm({ sessionId: four.sessionId, confirmationCode: four.confirmationCode });
    out.confirmedFlat = await phone.confirmQRSession({ sessionId: four.sessionId, confirmationCode: four.confirmationCode }).catch((e) => e.status);
    const flow = await desktop.qr.createFlow();
    const aborter = new AbortController();
    const aborted = flow.waitForAuthentication({ signal: aborter.signal }).catch((e) => e.name);
    await new Promise((r) => setTimeout(r, 100));
    aborter.abort();
    out.aborted = await aborted;
    await flow.cancel();
    return out;
  });
  assert.deepEqual(result, {
    session: 'string',
    desktopSignedIn: 'qr',
    cancelled: 'QR session cancelled',
    polled: 'cancelled',
    render: true,
    groupedPoll: ['cancelled'],
    wrongCode: 400,
    confirmed: undefined,
    confirmedFlat: undefined,
    aborted: 'AbortError',
  });
  await context.close();
});

test('magic links from the dev outbox, with our fetch transport and a v0.4 request transport', async () => {
  const context = await browser.newContext();
  const page = await appPage(context);
  const result = await page.evaluate(async () => {
    const { createClient, normalizeAuthClientError, AuthClientError } = window.sdk;
    const latest = async (email) => {
      const { messages } = await (await fetch('/auth/dev/outbox')).json();
      return messages.find((m) => m.email === email).url;
    };
    const out = {};
    const auth = createClient({ baseUrl: new URL('/auth', location.href) });
    out.sent = await auth.magicLinks.request({ email: 'link@example.com' });
    const url = await latest('link@example.com');
    out.extracted = auth.magicLinks.extractToken(url) === auth.extractMagicLinkToken(new URL(url));
    const first = await auth.magicLinks.verifyURL({ url });
    out.first = [first.method, first.isNewUser, (await auth.getSession())?.user.email];
    await auth.requestMagicLink({ email: 'link@example.com' });
    const second = await auth.verifyMagicLinkURL({ url: new URL(await latest('link@example.com')) });
    out.second = second.isNewUser;

    // The v0.4 transport shape from the seed README, against the real server.
    let token;
    const config = {
      async request(endpoint, body, options) {
        const response = await fetch('/auth' + endpoint, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: options?.signal,
        });
        const json = await response.json();
        if (!response.ok) throw Object.assign(new Error(json.error), { status: response.status });
        return json;
      },
    };
    const v04 = createClient(config);
    await v04.requestMagicLink({ email: 'v04@example.com' });
    const linkToken = v04.extractMagicLinkToken(await latest('v04@example.com'));
    const verified = await v04.magicLinks.verify({ token: linkToken });
    token = verified.session.token;
    out.v04 = (await v04.getSession())?.user.email;
    try {
      await v04.verifyMagicLink({ token: linkToken });
    } catch (error) {
      out.reused = [error instanceof AuthClientError, error.status, normalizeAuthClientError(error) === error];
    }
    return out;
  });
  assert.deepEqual(result, {
    sent: { sent: true },
    extracted: true,
    first: ['magic-link', true, 'link@example.com'],
    second: false,
    v04: 'v04@example.com',
    reused: [true, 400, true],
  });
  await context.close();
});

test('observeSession in one tab sees a sign-out in another tab of the same origin', async () => {
  const context = await browser.newContext();
  const tabA = await appPage(context);
  const tabB = await appPage(context);
  await tabA.bringToFront();
  await tabA.evaluate(async () => {
    window.auth = window.sdk.createClient({ storageKey: 'pm-session' });
    await window.auth.registerPasskey({});
    window.seen = [];
    window.stop = window.auth.observeSession((value) => window.seen.push(value ? value.user.id : null), { intervalMs: 600_000 });
  });
  await tabA.waitForFunction(() => window.seen.length === 1 && window.seen[0] !== null);
  const signedOut = await tabB.evaluate(async () => {
    const auth = window.sdk.createClient({ storageKey: 'pm-session' });
    const before = (await auth.getSession())?.user.id;
    await auth.revokeSession();
    return before;
  });
  assert.equal(typeof signedOut, 'string', 'tab B shared the persisted session');
  // With a 10-minute interval, only the cross-tab signal can bring the null this fast.
  await tabA.waitForFunction(() => window.seen.at(-1) === null, null, { timeout: 10_000 });
  const tokenA = await tabA.evaluate(() => {
    window.stop();
    return window.auth.getSessionToken();
  });
  assert.equal(tokenA, null);
  await context.close();
});
