// What every page of the demo shares: one SDK client, the navigation, the status line and
// turning any failure into a sentence a person can act on. Only the SDK's public API talks
// to the auth server; the one plain `fetch` is the dev server's mailbox probe.
import { createClient, AuthClientError } from 'passkey-magic-wasm';

// `passkey-magic serve` logs its address as 127.0.0.1, but passkeys cannot be bound to an
// IP address: the demo's relying party is `localhost`, so go there.
if (location.hostname === '127.0.0.1') {
  location.replace(location.href.replace('//127.0.0.1', '//localhost'));
}

/**
 * The one client of the demo: the API is mounted at /auth beside these pages, and the
 * SDK keeps the session token in localStorage under this key, so every page (and tab)
 * of this browser shares the session.
 */
export const auth = createClient({ baseUrl: '/auth', storageKey: 'passkey-magic-demo:session' });

export const $ = (id) => document.getElementById(id);

/** Shows what is going on in the page's live region (polite: read when idle). */
export function say(text) {
  const status = $('status');
  status.textContent = text;
  $('error').textContent = '';
}

/** Shows a failure in the page's alert region (read at once) and returns its text. */
export function fail(error, context = {}) {
  const text = describeError(error, context);
  $('error').textContent = text;
  $('status').textContent = '';
  return text;
}

/** The server's refusals that deserve more than its own words. */
const SERVER_MESSAGES = {
  'Invalid confirmation code':
    'That code does not match the one on your computer: check it and try again.',
  'Too many invalid confirmation codes: QR session cancelled':
    'Too many wrong codes: this QR login was cancelled. Start a new one on your computer.',
  'QR session expired':
    'This QR code has expired: press “Try again” on your computer and scan the new code.',
  'QR session cancelled': 'This QR login was cancelled on the computer.',
  'QR session already completed': 'This QR login is already complete.',
  'Passkey not recognised':
    'This passkey is not known here (its account may have been deleted). Create an account, or email yourself a link.',
  'QR confirmation code required':
    'This sign-in needs the code shown on your computer: type it, then try again.',
  'Invalid or expired magic link':
    'This sign-in link has already been used or has expired. Links work once, for a limited time: ask for a new one.',
};

/**
 * A sentence for a failed call. For the passkey prompt's messages, `context.action` names
 * what was tried ("sign you in", "add the passkey"...), `context.creating` says the prompt
 * was to create a passkey, and `context.otherWays` what else the person can do.
 */
export function describeError(
  error,
  { action = 'continue', creating = false, otherWays = 'use your phone (QR), or email yourself a link' } = {},
) {
  if (error instanceof AuthClientError) {
    if (!error.status) {
      return 'The server cannot be reached. Is the demo still running? Start it with ./scripts/demo and try again.';
    }
    if (error.status === 429) {
      return 'Too many attempts: please wait a few minutes, then try again.';
    }
    if (error.status === 503) {
      return 'The server is up but its storage is unavailable. Try again in a moment.';
    }
    if (error.status === 401) {
      return 'You are not signed in (or your session ended). Sign in again.';
    }
    return SERVER_MESSAGES[error.message] ?? `${error.message}.`.replace(/\.\.$/, '.');
  }
  switch (error?.name) {
    case 'NotAllowedError':
      return creating
        ? `No passkey was made, so we could not ${action}: the passkey prompt was cancelled or timed out. Try again when you are ready.`
        : `No passkey was used, so we could not ${action}: the passkey prompt was cancelled or timed out, or this device has no passkey for this site. Try again, ${otherWays}.`;
    case 'AbortError':
      return `The passkey prompt was cancelled, so we could not ${action}.`;
    case 'InvalidStateError':
      return 'This device already holds a passkey for this account: use that one to sign in.';
    case 'SecurityError':
      return 'The browser refused the passkey prompt for this address (passkeys need https or localhost).';
    case 'NotSupportedError':
      return 'This device cannot create a passkey of a kind the server accepts.';
    default:
      return error?.message || 'Something went wrong. Please try again.';
  }
}

/** Runs `action` with the page busy; a failure lands in the alert region. */
export async function attempt(action, context) {
  document.body.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } catch (error) {
    fail(error, context);
    return undefined;
  } finally {
    document.body.removeAttribute('aria-busy');
  }
}

/** Dates from the API (ISO-8601) as the reader's local date and time. */
export function formatDate(value) {
  if (!value) return 'never';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const METHODS = { passkey: 'Passkey', 'magic-link': 'Email link', qr: 'QR code from a phone' };

/** How a session was signed in, in words. */
export function methodName(authMethod) {
  return METHODS[authMethod] ?? authMethod;
}

/** The name a person recognises an account by. */
export function accountName(user) {
  return user.metadata?.displayName || user.email || `account ${user.id.slice(0, 8)}`;
}

/**
 * The dev mailbox exists only when the server runs with --dev: the link to it appears in
 * the navigation only then.
 */
async function showMailboxLink() {
  try {
    const response = await fetch('/auth/dev/outbox', { method: 'HEAD' });
    if (response.ok) $('nav-mailbox').hidden = false;
  } catch {
    // No server, no mailbox: the page says so when it is used.
  }
}

/** Marks the current page in the navigation and says the page is ready (for tests). */
export function ready() {
  const here = location.pathname.split('/').pop() || 'index.html';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === here) link.setAttribute('aria-current', 'page');
  }
  document.body.dataset.ready = 'true';
}

showMailboxLink();
