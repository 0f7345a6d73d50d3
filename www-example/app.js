import {
  createClient,
  supportsPasskeys,
  supportsAutofill,
  hasPlatformAuthenticator,
} from 'passkey-magic-wasm';

const $ = (id) => document.getElementById(id);
const show = (id, yes) => {
  $(id).textContent = yes ? 'yes' : 'no';
};

show('supports-passkeys', supportsPasskeys());
show('supports-autofill', await supportsAutofill());
show('platform-authenticator', await hasPlatformAuthenticator());

// The session token survives reloads of this tab (sessionStorage), not the browser.
const auth = createClient({
  baseUrl: '/auth',
  sessionToken: sessionStorage.getItem('passkey-magic-token') ?? undefined,
});

async function refresh() {
  const current = await auth.getSession();
  const token = auth.sessionToken;
  if (token) sessionStorage.setItem('passkey-magic-token', token);
  else sessionStorage.removeItem('passkey-magic-token');
  $('account').textContent = current
    ? `Signed in as ${current.user.email ?? current.user.id} (${current.session.authMethod}).`
    : 'Signed out.';
  $('sign-out').hidden = !current;
}

function run(action) {
  return async (event) => {
    event?.preventDefault();
    $('error').textContent = '';
    try {
      await action();
    } catch (error) {
      $('error').textContent = error.message;
    }
    await refresh();
  };
}

$('sign-up').addEventListener(
  'submit',
  run(() => {
    const email = $('email').value.trim();
    return auth.passkeys.register(email ? { email } : {});
  }),
);
$('sign-in').addEventListener('click', run(() => auth.passkeys.signIn()));
$('sign-out').addEventListener('click', run(() => auth.signOut()));

await refresh();
const status = $('status');
status.textContent = 'SDK ready';
status.dataset.ready = 'true';
