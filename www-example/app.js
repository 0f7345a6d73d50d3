import {
  supportsPasskeys,
  supportsAutofill,
  hasPlatformAuthenticator,
} from 'passkey-magic-wasm';

const show = (id, yes) => {
  document.getElementById(id).textContent = yes ? 'yes' : 'no';
};

show('supports-passkeys', supportsPasskeys());
show('supports-autofill', await supportsAutofill());
show('platform-authenticator', await hasPlatformAuthenticator());

const status = document.getElementById('status');
status.textContent = 'SDK ready';
status.dataset.ready = 'true';
