// QR login, desktop side: shows a QR code of the phone page, the confirmation code when
// the server asks for one, and the login's live state until it ends.
import { auth, $, say, fail, ready } from './common.js';

const STATES = {
  created: ['waiting', 'Waiting for your phone: scan the code with its camera.'],
  scanned: ['scanned', 'Scanned. Finish on your phone.'],
  challenged: ['scanned', 'Scanned. Your phone is asking for its passkey.'],
  authenticated: ['signed in', 'Signed in! Opening your account…'],
  expired: ['expired', 'This QR code expired. Press “Try again” for a new one.'],
  cancelled: ['cancelled', 'QR login cancelled. Press “Try again” to start over.'],
};

let login; // { sessionId, statusToken, controller }

function showState(state) {
  const [label, sentence] = STATES[state] ?? [state, `State: ${state}`];
  $('qr-state').textContent = label;
  $('qr-state').dataset.state = state;
  say(sentence);
  const over = state === 'authenticated' || state === 'expired' || state === 'cancelled';
  $('cancel').hidden = over;
  $('retry').hidden = !over || state === 'authenticated';
  if (over) {
    $('qr-code').hidden = true;
    $('link-box').hidden = true;
    $('code-box').hidden = true;
  }
}

/** The phone page's address: the QR's content. It says whether a code will be asked. */
function phoneUrl(sessionId, withCode) {
  const url = new URL('phone.html', location.href);
  url.searchParams.set('session', sessionId);
  if (withCode) url.searchParams.set('code', 'required');
  return url.toString();
}

async function start() {
  login?.controller.abort();
  $('retry').hidden = true;
  $('cancel').hidden = true;
  say('Creating a QR code…');
  let created;
  try {
    created = await auth.qr.create();
  } catch (error) {
    fail(error);
    $('qr-state').textContent = 'not started';
    $('retry').hidden = false;
    return;
  }
  const { sessionId, statusToken, confirmationCode } = created;
  const controller = new AbortController();
  login = { sessionId, statusToken, controller };

  const url = phoneUrl(sessionId, Boolean(confirmationCode));
  $('qr-code').innerHTML = auth.qr.render(url); // an SVG string made by the SDK
  $('qr-code').hidden = false;
  $('phone-link').href = url;
  $('link-box').hidden = false;
  $('code-box').hidden = !confirmationCode;
  $('confirmation-code').textContent = confirmationCode ?? '';
  // Screen readers get it digit by digit, not as one big number.
  $('confirmation-code-spoken').textContent = [...(confirmationCode ?? '')].join(' ');
  showState('created');

  try {
    for await (const status of auth.qr.poll(sessionId, statusToken, { signal: controller.signal })) {
      showState(status.state);
      if (status.state === 'authenticated') {
        location.assign('account.html');
        return;
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    // The phone may still finish, but this page can no longer tell: start over.
    $('qr-state').textContent = 'connection lost';
    $('qr-state').dataset.state = 'error';
    $('qr-code').hidden = true;
    $('link-box').hidden = true;
    $('code-box').hidden = true;
    fail(error);
    $('cancel').hidden = true;
    $('retry').hidden = false;
  }
}

$('cancel').addEventListener('click', async () => {
  if (!login) return;
  const { sessionId, statusToken, controller } = login;
  try {
    await auth.qr.cancel({ sessionId, statusToken });
    controller.abort();
    showState('cancelled');
    $('retry').focus();
  } catch (error) {
    fail(error);
    $('retry').hidden = false;
  }
});

$('retry').addEventListener('click', () => start());

ready();
start();
