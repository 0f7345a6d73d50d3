// passkey-magic-wasm: the ESM entry of the npm package.
// All behaviour lives in the WebAssembly module (Rust). This file loads it once, defines
// AuthClientError (a real JS class, for `instanceof`), and builds the v0.4 client object:
// names, groups and aliases over the module's two dispatchers, `core.run` (asynchronous
// members) and `sync` (synchronous ones). Nothing here throws for bad arguments: async
// members reject.
import init, { Core, sync } from './passkey_magic_client.js';

const wasm = new URL('./passkey_magic_client_bg.wasm', import.meta.url);
if (wasm.protocol === 'file:' && typeof process === 'object' && process.versions?.node) {
  // Node.js (tests with vitest/jest, SSR): read the file beside this module.
  const fs = 'node:fs/promises';
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fs);
  await init({ module_or_path: await readFile(wasm) });
} else {
  await init({ module_or_path: wasm });
}

/** A failed server call, as in passkey-magic v0.4 (plus `reason`, our finer category). */
export class AuthClientError extends Error {
  constructor(message, options) {
    super(message);
    this.code = 'AUTH_CLIENT_ERROR';
    this.status = options?.status;
    this.cause = options?.cause;
    this.name = 'AuthClientError';
    Object.defineProperty(this, 'reason', { value: options?.reason, writable: true, configurable: true });
  }
}

/** Any thrown value as an `AuthClientError` (the same object if it already is one). */
export const normalizeAuthClientError = (error) => sync(6, error, AuthClientError);

// Operation numbers of `Core.run` (client/src/js/client.rs); 128 = honour the signal but
// hand `undefined` to the app's transport, as v0.4 does for these members.
const KEEP = 128;
const [REGISTER, SIGN_IN, ADD, LIST, UPDATE, REMOVE, QR_CREATE, QR_CONFIRM, QR_COMPLETE,
  QR_CANCEL, LINK_REQUEST, LINK_VERIFY, LINK_VERIFY_URL, ACCOUNT, EMAIL_AVAILABLE,
  CAN_LINK_EMAIL, UPDATE_METADATA, LINK_EMAIL, UNLINK_EMAIL, DELETE_ACCOUNT, SESSION,
  SESSIONS, REVOKE, REVOKE_BY_ID, REVOKE_ALL, QR_WAIT, BEST_METHOD, AUTOFILL, SIGN_OUT,
  EVENTS] = Array.from({ length: 30 }, (_, op) => op);

/** `true` when WebAuthn passkeys are available (`PublicKeyCredential` exists). */
export const supportsPasskeys = () => sync(3);
/** Resolves to `true` when passkeys can be offered in form autofill. */
export const supportsAutofill = () => sync(4);
/** Resolves to `true` when the device has a user-verifying platform authenticator. */
export const hasPlatformAuthenticator = () => sync(5);
/** The magic-link token of a URL (string or `URL`). */
export const extractMagicLinkToken = (input) => sync(2, input);
/** A QR code of `text` as an SVG string. */
export const renderQR = (text, opts) => sync(0, text, opts);
/** A QR code of `text` as terminal text. */
export const renderQRText = (text, opts) => sync(1, text, opts);
/** Cancels a pending autofill sign-in (modal ceremonies do it themselves). */
export const cancelAutofill = () => sync(7);

const detached = new Core({}, AuthClientError);
/** `'passkey-autofill'`, `'passkey'` or `'magic-link'`: the best way to sign in here. */
export const getBestSignInMethod = (opts) => detached.run(BEST_METHOD, opts);

/** `qr.poll`'s async iterator over the Rust poller. */
function iterate(poller) {
  return {
    next: () => poller.next(),
    return: (value) => {
      poller.stop();
      return Promise.resolve({ value, done: true });
    },
    throw: (error) => {
      poller.stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * A client of a passkey-magic server with the whole v0.4 API, grouped and flat.
 * `config.request(endpoint, body, opts)` is v0.4's transport; without it, `config.baseUrl`
 * (default `/auth`) is called with `fetch` and the session token is kept for you.
 */
export function createClient(config = {}) {
  const core = new Core(config, AuthClientError);
  const run = (op) => (a, b, c) => core.run(op, a, b, c);
  const kept = (op) => (a, b) => core.run(op | KEEP, a, b);
  const poll = (sessionId, statusToken, opts) => iterate(core.poll(sessionId, statusToken, opts));
  const wait = run(QR_WAIT);
  const cancel = run(QR_CANCEL);
  const list = run(LIST);

  const passkeys = {
    register: run(REGISTER),
    signIn: run(SIGN_IN),
    add: run(ADD),
    list: (userId, opts) => list(opts),
    update: run(UPDATE),
    remove: run(REMOVE),
    autofill: run(AUTOFILL),
  };
  const qr = {
    create: kept(QR_CREATE),
    render: renderQR,
    renderText: renderQRText,
    poll,
    waitForAuthentication: wait,
    confirm: kept(QR_CONFIRM),
    complete: kept(QR_COMPLETE),
    cancel: kept(QR_CANCEL),
    async createFlow(params, opts) {
      const build = params?.urlBuilder ?? ((sessionId) => sessionId);
      const { sessionId, statusToken, confirmationCode } = await core.run(QR_CREATE | KEEP, opts);
      return {
        sessionId,
        statusToken,
        confirmationCode,
        render: (o) => renderQR(build(sessionId), o),
        renderText: (o) => renderQRText(build(sessionId), o),
        poll: (o) => poll(sessionId, statusToken, o),
        waitForAuthentication: (o) => wait(sessionId, statusToken, o),
        cancel: (o) => cancel({ sessionId, statusToken }, o),
      };
    },
  };
  const magicLinks = {
    request: run(LINK_REQUEST),
    verify: run(LINK_VERIFY),
    extractToken: extractMagicLinkToken,
    verifyURL: run(LINK_VERIFY_URL),
  };
  const accounts = {
    get: run(ACCOUNT),
    isEmailAvailable: run(EMAIL_AVAILABLE),
    canLinkEmail: run(CAN_LINK_EMAIL),
    updateMetadata: run(UPDATE_METADATA),
    linkEmail: run(LINK_EMAIL),
    unlinkEmail: run(UNLINK_EMAIL),
    delete: run(DELETE_ACCOUNT),
    events: run(EVENTS),
  };
  const client = {
    passkeys,
    qr,
    magicLinks,
    accounts,
    supportsPasskeys,
    supportsAutofill,
    hasPlatformAuthenticator,
    getBestSignInMethod: run(BEST_METHOD),
    registerPasskey: run(REGISTER),
    signInWithPasskey: run(SIGN_IN),
    addPasskey: run(ADD),
    updateCredential: run(UPDATE),
    removeCredential: run(REMOVE),
    listCredentials: list,
    createQRSession: kept(QR_CREATE),
    renderQR,
    renderQRText,
    pollQRSession: poll,
    waitForQRSession: wait,
    confirmQRSession: run(QR_CONFIRM),
    completeQRSession: run(QR_COMPLETE),
    cancelQRSession: cancel,
    requestMagicLink: run(LINK_REQUEST),
    verifyMagicLink: run(LINK_VERIFY),
    extractMagicLinkToken,
    verifyMagicLinkURL: run(LINK_VERIFY_URL),
    getSession: run(SESSION),
    observeSession: (listener, opts) => core.observe(client, listener, opts),
    listSessions: run(SESSIONS),
    revokeSession: run(REVOKE),
    revokeSessionById: run(REVOKE_BY_ID),
    revokeAllSessions: run(REVOKE_ALL),
    getAccount: run(ACCOUNT),
    isEmailAvailable: run(EMAIL_AVAILABLE),
    updateAccountMetadata: run(UPDATE_METADATA),
    linkEmail: run(LINK_EMAIL),
    unlinkEmail: run(UNLINK_EMAIL),
    deleteAccount: run(DELETE_ACCOUNT),
    // Our additions (not in v0.4).
    signInWithAutofill: run(AUTOFILL),
    cancelAutofill,
    signOut: run(SIGN_OUT),
    listAccountEvents: run(EVENTS),
    getSessionToken: () => core.getToken() ?? null,
    setSessionToken: (token) => core.setToken(token ?? undefined),
    get sessionToken() {
      return core.getToken() ?? undefined;
    },
  };
  return client;
}
