// QR login, phone side: the page the QR code opens. Asks for the desktop's code when the
// login has one, then signs the desktop in with this phone's passkey.
import { auth, $, say, fail, ready } from './common.js';

const params = new URLSearchParams(location.search);
const sessionId = params.get('session');
// The desktop page says in the QR's URL whether a code will be asked; a login made
// elsewhere may need one all the same, and the server then says so.
let needsCode = params.get('code') === 'required';

function askForCode() {
  needsCode = true;
  $('code-field').hidden = false;
  $('code').required = true;
}
if (needsCode) askForCode();

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
  document.body.setAttribute('aria-busy', 'true');
  try {
    await auth.qr.complete({ sessionId, confirmationCode: needsCode ? confirmationCode : undefined });
    say('Done: your computer is signed in. You can close this page.');
    $('approve').disabled = true;
    $('code').disabled = true;
  } catch (error) {
    fail(error, { action: 'sign the computer in', otherWays: 'or sign in on the computer another way' });
    if (error?.message === 'QR confirmation code required') askForCode();
    if (error?.message === 'QR confirmation code required' || error?.message === 'Invalid confirmation code') {
      $('code').focus();
      $('code').select();
    }
  } finally {
    document.body.removeAttribute('aria-busy');
  }
});

ready();
if (needsCode) $('code').focus();
