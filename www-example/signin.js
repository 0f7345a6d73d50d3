// Sign in / sign up: passkey button, passkey autofill in the email field, and the
// "email me a link" fallback.
import { auth, $, say, fail, attempt, accountName, methodName, ready } from './common.js';

const yesNo = (value) => (value ? 'yes' : 'no');

// The page's own passkey autofill request. The SDK cancels it when a modal prompt starts;
// the page stops it first anyway, so it never reports that as a failure.
let autofill;

async function showSession() {
  const current = await auth.getSession();
  $('signed-in').hidden = !current;
  $('sign-in-section').hidden = Boolean(current);
  $('account').textContent = current
    ? `Signed in as ${accountName(current.user)} (${methodName(current.session.authMethod)}).`
    : 'Signed out.';
  return current;
}

/** After a sign-in (the SDK keeps the session token): on to the account page. */
function signedIn() {
  say('Signed in. Opening your account…');
  location.assign('account.html');
}

function email() {
  return $('email').value.trim();
}

function stopAutofill() {
  autofill?.abort();
  autofill = undefined;
}

/**
 * Offers this site's passkeys in the email field's autofill list (where the browser
 * supports it); choosing one signs in without pressing a button.
 */
async function startAutofill() {
  if (!(await auth.supportsAutofill())) return;
  stopAutofill();
  const controller = new AbortController();
  autofill = controller;
  try {
    await auth.passkeys.autofill({}, { signal: controller.signal });
    signedIn();
  } catch (error) {
    // Autofill is passive: stopped by the page (a button started a prompt), dismissed, or
    // nothing to offer is not a failure. Only the server's answer to a chosen passkey is.
    if (controller.signal.aborted || error?.name !== 'AuthClientError') return;
    fail(error, { action: 'sign you in' });
  }
}

$('sign-in').addEventListener('click', async () => {
  stopAutofill();
  say('Waiting for your passkey…');
  const result = await attempt(() => auth.passkeys.signIn(), { action: 'sign you in' });
  if (result) signedIn();
  else startAutofill();
});

$('sign-up').addEventListener('click', async () => {
  const address = email();
  if (address && !$('email').checkValidity()) {
    fail(new Error('That email address does not look right: check it, or leave it empty.'));
    $('email').focus();
    return;
  }
  stopAutofill();
  say('Creating your passkey…');
  const result = await attempt(() => auth.passkeys.register(address ? { email: address } : {}), {
    creating: true,
    action: 'create your account',
  });
  if (result) signedIn();
  else startAutofill();
});

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const address = email();
  if (!address || !$('email').checkValidity()) {
    fail(new Error('Type your email address first: the link is sent there.'));
    $('email').focus();
    return;
  }
  say('Sending your link…');
  const sent = await attempt(() => auth.magicLinks.request({ email: address }));
  if (sent) {
    say(`We sent a sign-in link to ${address}. It works once, for a limited time.`);
    if (!$('nav-mailbox').hidden) {
      $('status').append(' In this demo it lands in the ', mailboxLink(), '.');
    }
  }
});

function mailboxLink() {
  const link = document.createElement('a');
  link.href = 'mailbox.html';
  link.textContent = 'dev mailbox';
  return link;
}

$('sign-out').addEventListener('click', async () => {
  await attempt(() => auth.revokeSession());
  await showSession();
  say('Signed out.');
  startAutofill();
});

const passkeys = auth.supportsPasskeys();
$('supports-passkeys').textContent = yesNo(passkeys);
$('supports-autofill').textContent = yesNo(await auth.supportsAutofill());
$('platform-authenticator').textContent = yesNo(await auth.hasPlatformAuthenticator());
$('best-method').textContent = await auth.getBestSignInMethod();
if (!passkeys) {
  $('sign-in').disabled = true;
  $('sign-up').disabled = true;
  say('This browser cannot use passkeys: email yourself a sign-in link, or use the QR login from a phone.');
}

const current = await showSession();
ready();
if (!current && passkeys) startAutofill();
