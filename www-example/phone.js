// QR login, phone side: the page the QR code opens. Asks for the desktop's code when the
// login has one, then signs the desktop in with this phone's passkey.
import { auth, $, say, fail, attempt, ready } from './common.js';

const params = new URLSearchParams(location.search);
const sessionId = params.get('session');
const needsCode = params.get('code') === 'required';

$('code-field').hidden = !needsCode;
$('code').required = needsCode;

if (!sessionId) {
  fail(new Error('This page opens from a QR code: scan the code shown on your computer.'));
  $('approve').disabled = true;
}

$('approve-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const confirmationCode = $('code').value.trim();
  if (needsCode && !/^[0-9]{4,8}$/.test(confirmationCode)) {
    fail(new Error('Type the code your computer shows (digits only).'));
    $('code').focus();
    return;
  }
  say('Waiting for your passkey…');
  const done = await attempt(
    async () => {
      await auth.qr.complete({ sessionId, confirmationCode: needsCode ? confirmationCode : undefined });
      return true;
    },
    { action: 'sign the computer in', otherWays: 'or sign in on the computer another way' },
  );
  if (done) {
    say('Done: your computer is signed in. You can close this page.');
    $('approve').disabled = true;
    $('code').disabled = true;
  } else if (/code/i.test($('error').textContent)) {
    $('code').select();
  }
});

ready();
if (needsCode) $('code').focus();
