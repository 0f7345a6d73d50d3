// The magic-link verify page: signs in with the `?token=` of the link, once.
import { auth, $, say, fail, accountName, ready } from './common.js';

const hasToken = new URLSearchParams(location.search).get('token');

if (!hasToken) {
  document.querySelector('h1').textContent = 'This link did not sign you in';
  fail(new Error('This address has no sign-in token: open the link from your email again.'));
  $('next').hidden = false;
} else {
  say('Checking your link…');
  try {
    const result = await auth.magicLinks.verifyURL({ url: location.href });
    // The token is spent: keep it out of the address bar and the history.
    history.replaceState(null, '', 'verify.html');
    $('result-title').textContent = result.isNewUser ? 'Welcome!' : 'Welcome back!';
    $('welcome').textContent = result.isNewUser
      ? `Your new account for ${result.user.email} is ready. Add a passkey on your account page to sign in faster next time.`
      : `You are signed in as ${accountName(result.user)}.`;
    $('result').hidden = false;
    say('Signed in.');
    $('result').querySelector('a').focus();
  } catch (error) {
    document.querySelector('h1').textContent = 'This link did not sign you in';
    $('next').hidden = false;
    // A spent token and an expired one look the same to the server (on purpose): the
    // message names both plainly.
    fail(error);
  }
}
ready();
