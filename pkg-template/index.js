// passkey-magic-wasm: the ESM entry of the npm package.
// It loads the WebAssembly module once (top-level await), then re-exports the API with
// errors re-thrown as `AuthClientError`, so callers can use `instanceof`.
import init, * as wasm from './passkey_magic_client.js';

await init({ module_or_path: new URL('./passkey_magic_client_bg.wasm', import.meta.url) });

/** A failed call: `status` is the HTTP status (0 when no response arrived). */
export class AuthClientError extends Error {
  constructor(message, status = 0, code = 'internal') {
    super(message);
    this.name = 'AuthClientError';
    this.status = status;
    this.code = code;
  }
}

function rethrow(error) {
  if (error instanceof AuthClientError) throw error;
  if (error && error.name === 'AuthClientError') {
    throw new AuthClientError(error.message, error.status, error.code);
  }
  throw error;
}

function guarded(fn) {
  return (...args) => {
    try {
      const result = fn(...args);
      return result && typeof result.then === 'function' ? result.catch(rethrow) : result;
    } catch (error) {
      return rethrow(error);
    }
  };
}

/** `true` when WebAuthn passkeys are available in this browser. */
export const supportsPasskeys = guarded(wasm.supportsPasskeys);
/** Resolves to `true` when passkeys can be offered in form autofill. */
export const supportsAutofill = guarded(wasm.supportsAutofill);
/** Resolves to `true` when the device has a user-verifying platform authenticator. */
export const hasPlatformAuthenticator = guarded(wasm.hasPlatformAuthenticator);
/** The magic-link token of a URL; throws `AuthClientError` when there is none. */
export const extractMagicLinkToken = guarded(wasm.extractMagicLinkToken);

/**
 * A client of a passkey-magic server, with the grouped API of passkey-magic v0.4:
 * `passkeys.register/signIn`, `getSession`, `signOut`. `options.baseUrl` is where the API
 * is mounted (default `/auth`); `options.sessionToken` restores a saved session.
 */
export function createClient(options = {}) {
  const client = wasm.createClient(options);
  const call = (promise) => promise.catch(rethrow);
  return {
    passkeys: {
      /** Signs up with a new passkey → `{ method, user, session, credential }`. */
      register: (input = {}, callOptions = {}) => call(client.register(input, callOptions)),
      /** Signs in with a passkey (any, or `{ userId }`'s) → `{ method, user, session }`. */
      signIn: (input = {}, callOptions = {}) => call(client.signIn(input, callOptions)),
    },
    qr: {
      /** Desktop: starts a QR login → `{ sessionId, statusToken, confirmationCode? }`. */
      create: () => call(client.qrCreate()),
      /** Desktop: the status now; `{ wait }` (seconds, ≤ 30) long-polls. */
      status: (sessionId, statusToken, { wait } = {}) =>
        call(client.qrStatus(sessionId, statusToken, wait)),
      /** Desktop: resolves once signed in (this client then holds the session), expired or cancelled. */
      waitForAuthentication: (sessionId, statusToken, options = {}) =>
        call(client.qrWaitForAuthentication(sessionId, statusToken, options)),
      /** Desktop: cancels the login. */
      cancel: ({ sessionId, statusToken }) => call(client.qrCancel(sessionId, statusToken)),
      /** Phone: reports the code as scanned. */
      scan: (sessionId) => call(client.qrScan(sessionId)),
      /** Phone: enters the code shown on the desktop. */
      confirm: (sessionId, confirmationCode) => call(client.qrConfirm(sessionId, confirmationCode)),
      /** Phone: signs the desktop in with one of this device's passkeys. */
      complete: (sessionId, options = {}) => call(client.qrComplete(sessionId, options)),
    },
    magicLinks: {
      /** Sends a sign-in link → `{ sent: true }`. */
      request: ({ email }) => call(client.requestMagicLink(email)),
      /** Signs in with a link's token → `{ method, user, session, isNewUser }`. */
      verify: ({ token }) => call(client.verifyMagicLink(token)),
      /** The token of a link URL (throws `AuthClientError` when there is none). */
      extractToken: (url) => extractMagicLinkToken(url),
      /** Signs in with the link in a URL, e.g. `location.href`. */
      verifyURL: ({ url }) => call(client.verifyMagicLinkUrl(url)),
    },
    /** The current `{ user, session }`, or `null`. */
    getSession: () => call(client.getSession()),
    /** Ends the current session. */
    signOut: () => call(client.signOut()),
    /** The session token to save (e.g. in sessionStorage), or `undefined`. */
    get sessionToken() {
      return client.sessionToken;
    },
    /** Restores (or with `null` forgets) a session token. */
    setSessionToken: (token) => client.setSessionToken(token ?? undefined),
  };
}
