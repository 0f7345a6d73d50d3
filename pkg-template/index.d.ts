// Types of passkey-magic-wasm: the passkey-magic v0.4 client API (`passkey-magic/client`),
// plus our additions (marked). Generics carry your metadata types.

/** A JSON value stored as metadata. */
export type MetadataValue =
  | string
  | number
  | boolean
  | null
  | MetadataValue[]
  | { [key: string]: MetadataValue };
/** Metadata: a JSON object. */
export type MetadataObject = { [key: string]: MetadataValue };

/** A user account. Dates arrive as ISO-8601 strings from a JSON transport. */
export interface User<TMetadata extends MetadataObject = MetadataObject> {
  id: string;
  email?: string;
  createdAt: Date | string;
  metadata?: TMetadata;
}

/** The user fields in sign-in results. */
export type ClientUser<TUserMetadata extends MetadataObject = MetadataObject> = Pick<
  User<TUserMetadata>,
  'id' | 'email' | 'metadata'
>;

/** A session. `token` is present only in the response that created it. */
export interface Session {
  id: string;
  token: string;
  userId: string;
  authMethod: 'passkey' | 'magic-link' | 'qr';
  expiresAt: Date | string;
  createdAt: Date | string;
  userAgent?: string;
  ipAddress?: string;
  authContext?: { qrSessionId?: string };
}

/** Ours: what a security event records (`GET /account/events`). */
export type SecurityEventType =
  | 'signIn'
  | 'signInFailed'
  | 'passkeyAdded'
  | 'passkeyRenamed'
  | 'passkeyRemoved'
  | 'sessionRevoked'
  | 'allSessionsRevoked'
  | 'emailLinked'
  | 'emailUnlinked'
  | 'accountDeleted';

/** Ours: one entry of the signed-in user's security log. Never holds a token. */
export interface SecurityEvent {
  id: string;
  type: SecurityEventType;
  createdAt: string;
  /** Sign-in events: how. */
  method?: 'passkey' | 'magic-link' | 'qr';
  /** `signInFailed`: why. */
  reason?: 'verificationFailed' | 'counterRegression' | 'blocked';
  ipAddress?: string;
  userAgent?: string;
  credentialId?: string;
  sessionId?: string;
}

/** Ours: a page of the security log, newest first; pass `nextCursor` as `cursor` for the next. */
export interface SecurityEventPage {
  events: SecurityEvent[];
  nextCursor: string | null;
}

/** Ours: `accounts.events` options: page size (1–100, default 20) and the previous page's `nextCursor`. */
export type EventsOpts = Opts & { limit?: number; cursor?: string | null };

/** Transports a passkey can use. */
export type AuthenticatorTransport = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

/** A passkey of the signed-in user. */
export interface Credential<TMetadata extends MetadataObject = MetadataObject> {
  id: string;
  userId: string;
  /** The COSE public key (base64url from our server; clients should not depend on it). */
  publicKey: Uint8Array | string;
  counter: number;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports?: AuthenticatorTransport[];
  label?: string;
  createdAt: Date | string;
  metadata?: TMetadata;
  /** Our server's addition: the authenticator model's AAGUID (names the passkey provider). */
  aaguid?: string;
  /** Our server's addition: when the passkey last signed in. */
  lastUsedAt?: string;
}

/** Whether an email can be linked to the signed-in account. */
export type EmailLinkability = { ok: true } | { ok: false; reason: 'invalid_email' | 'email_in_use' };

/** A QR login's status, as the desktop polls it. */
export interface QRSessionStatus {
  state: 'created' | 'scanned' | 'challenged' | 'authenticated' | 'expired' | 'cancelled';
  confirmationRequired?: boolean;
  confirmed?: boolean;
  /** In the `authenticated` status: the desktop's new session. */
  session?: { token: string; expiresAt: string };
}

/** The best way to sign in on this device. */
export type PasskeySignInMethod = 'passkey-autofill' | 'passkey' | 'magic-link';

/** `observeSession` options: `intervalMs` (default 30000), `immediate` (default true). */
export type SessionObserverOptions = { intervalMs?: number; immediate?: boolean };
/** Called with the current session, or `null` when signed out. */
export type SessionListener<TUserMetadata extends MetadataObject = MetadataObject> = (
  session: { user: User<TUserMetadata>; session: Session } | null,
) => void;

/** Options of every asynchronous member. */
export type Opts = { signal?: AbortSignal };
/** `qr.poll` options (milliseconds; jitter 0..1). */
export type PollOpts = {
  interval?: number;
  signal?: AbortSignal;
  backoffRate?: number;
  maxInterval?: number;
  jitter?: number;
};
/** `qr.waitForAuthentication` options. */
export type WaitOpts = {
  interval?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  backoffRate?: number;
  maxInterval?: number;
  jitter?: number;
};
/** QR rendering options: light modules around the code. */
export type RenderOpts = { border?: number };

/** The session part of a passkey sign-in result. */
export type PasskeyAuthSession = {
  token: string;
  expiresAt: string;
  authMethod: 'passkey';
  authContext?: { qrSessionId?: string };
};

/** A passkey sign-in result. */
export type PasskeySignInResult<TUserMetadata extends MetadataObject = MetadataObject> = {
  method: 'passkey';
  user: ClientUser<TUserMetadata>;
  session: PasskeyAuthSession;
};

/** A passkey sign-up result. */
export type PasskeyRegisterResult<TUserMetadata extends MetadataObject = MetadataObject> =
  PasskeySignInResult<TUserMetadata> & { credential: { id: string } };

/** A magic-link sign-in result. */
export type MagicLinkResult<TUserMetadata extends MetadataObject = MetadataObject> = {
  method: 'magic-link';
  user: ClientUser<TUserMetadata>;
  session: {
    token: string;
    expiresAt: string;
    authMethod: 'magic-link';
    authContext?: { qrSessionId?: string };
  };
  isNewUser: boolean;
};

/** A created QR login (desktop side). `statusToken` never leaves this device. */
export type QRSessionCreated = { sessionId: string; statusToken: string; confirmationCode?: string };

/** The QR login of `qr.createFlow`, bound to one session. */
export interface QRClientFlow {
  sessionId: string;
  statusToken: string;
  confirmationCode?: string;
  render(opts?: RenderOpts): string;
  renderText(opts?: RenderOpts): string;
  poll(opts?: PollOpts): AsyncIterableIterator<QRSessionStatus>;
  waitForAuthentication(opts?: WaitOpts): Promise<{ token: string; expiresAt: string }>;
  cancel(opts?: Opts): Promise<void>;
}

/** The app's transport (v0.4): resolve the server's JSON, throw `{ status, message }` on errors. */
export type RequestFunction = <T = unknown>(
  endpoint: string,
  body?: unknown,
  options?: { signal?: AbortSignal },
) => Promise<T>;

/** `createClient` configuration: v0.4's `{ request }`, or our `{ baseUrl }` fetch transport. */
export interface ClientConfig {
  /** v0.4 transport: called as `request(endpoint, body, opts)`. */
  request?: RequestFunction;
  /** Ours: where the API is mounted when no `request` is given (default `/auth`). */
  baseUrl?: string | URL;
  /** Ours: long-poll QR statuses with `&wait=` (default: on with `baseUrl`, off with `request`). */
  longPoll?: boolean;
  /** Ours, with `baseUrl`: `'include'` is cookie mode (the server's HttpOnly cookie is the session; no token in JS). */
  credentials?: 'include';
  /** Ours: a session token saved earlier. */
  sessionToken?: string;
  /** Ours: persist the token in storage under this key (default: memory only). */
  storageKey?: string;
  /** Ours: where to persist: `'local'` (default), `'session'` or a `Storage`-like object. */
  storage?: 'local' | 'session' | Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Ours: called whenever the session token changes (`null`: signed out). */
  onSessionTokenChange?: (token: string | null) => void;
}

/** The object `createClient` returns. */
export interface PasskeyMagicClient<
  TUserMetadata extends MetadataObject = MetadataObject,
  TCredentialMetadata extends MetadataObject = MetadataObject,
> {
  passkeys: {
    register(
      params?: { userId?: string; email?: string; userName?: string },
      opts?: Opts,
    ): Promise<PasskeyRegisterResult<TUserMetadata>>;
    signIn(params?: { userId?: string }, opts?: Opts): Promise<PasskeySignInResult<TUserMetadata>>;
    add(params?: { userName?: string }, opts?: Opts): Promise<{ credential: { id: string } }>;
    list(userId?: string, opts?: Opts): Promise<{ credentials: Credential<TCredentialMetadata>[] }>;
    update(
      params: { credentialId: string; label?: string; metadata?: Credential<TCredentialMetadata>['metadata'] },
      opts?: Opts,
    ): Promise<void>;
    remove(credentialId: string, opts?: Opts): Promise<void>;
    /** Ours: sign in through form autofill (`mediation: "conditional"`); a modal ceremony cancels it. */
    autofill(params?: { userId?: string }, opts?: Opts): Promise<PasskeySignInResult<TUserMetadata>>;
  };
  qr: {
    create(opts?: Opts): Promise<QRSessionCreated>;
    render(url: string, opts?: RenderOpts): string;
    renderText(url: string, opts?: RenderOpts): string;
    poll(sessionId: string, statusToken: string, opts?: PollOpts): AsyncIterableIterator<QRSessionStatus>;
    waitForAuthentication(
      sessionId: string,
      statusToken: string,
      opts?: WaitOpts,
    ): Promise<{ token: string; expiresAt: string }>;
    confirm(params: { sessionId: string; confirmationCode: string }, opts?: Opts): Promise<void>;
    complete(params: { sessionId: string; confirmationCode?: string }, opts?: Opts): Promise<void>;
    cancel(params: { sessionId: string; statusToken: string }, opts?: Opts): Promise<void>;
    createFlow(params?: { urlBuilder?: (sessionId: string) => string }, opts?: Opts): Promise<QRClientFlow>;
  };
  magicLinks: {
    request(params: { email: string }, opts?: Opts): Promise<{ sent: true }>;
    verify(params: { token: string }, opts?: Opts): Promise<MagicLinkResult<TUserMetadata>>;
    extractToken(input: string | URL): string;
    verifyURL(params: { url: string | URL }, opts?: Opts): Promise<MagicLinkResult<TUserMetadata>>;
  };
  accounts: {
    get(opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
    isEmailAvailable(email: string, opts?: Opts): Promise<boolean>;
    canLinkEmail(email: string, opts?: Opts): Promise<EmailLinkability>;
    updateMetadata(metadata?: User<TUserMetadata>['metadata'], opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
    linkEmail(email: string, opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
    unlinkEmail(opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
    delete(opts?: Opts): Promise<void>;
    /** Ours: a page of the signed-in user's security log, newest first. */
    events(opts?: EventsOpts): Promise<SecurityEventPage>;
  };
  supportsPasskeys(): boolean;
  supportsAutofill(): Promise<boolean>;
  hasPlatformAuthenticator(): Promise<boolean>;
  getBestSignInMethod(opts?: { allowMagicLink?: boolean }): Promise<PasskeySignInMethod>;
  registerPasskey(
    params?: { userId?: string; email?: string; userName?: string },
    opts?: Opts,
  ): Promise<PasskeyRegisterResult<TUserMetadata>>;
  signInWithPasskey(params?: { userId?: string }, opts?: Opts): Promise<PasskeySignInResult<TUserMetadata>>;
  addPasskey(params?: { userName?: string }, opts?: Opts): Promise<{ credential: { id: string } }>;
  updateCredential(
    params: { credentialId: string; label?: string; metadata?: Credential<TCredentialMetadata>['metadata'] },
    opts?: Opts,
  ): Promise<void>;
  removeCredential(credentialId: string, opts?: Opts): Promise<void>;
  listCredentials(opts?: Opts): Promise<{ credentials: Credential<TCredentialMetadata>[] }>;
  createQRSession(opts?: Opts): Promise<QRSessionCreated>;
  renderQR(url: string, opts?: RenderOpts): string;
  renderQRText(url: string, opts?: RenderOpts): string;
  pollQRSession(sessionId: string, statusToken: string, opts?: PollOpts): AsyncIterableIterator<QRSessionStatus>;
  waitForQRSession(sessionId: string, statusToken: string, opts?: WaitOpts): Promise<{ token: string; expiresAt: string }>;
  confirmQRSession(params: { sessionId: string; confirmationCode: string }, opts?: Opts): Promise<void>;
  completeQRSession(params: { sessionId: string; confirmationCode?: string }, opts?: Opts): Promise<void>;
  cancelQRSession(params: { sessionId: string; statusToken: string }, opts?: Opts): Promise<void>;
  requestMagicLink(params: { email: string }, opts?: Opts): Promise<{ sent: true }>;
  verifyMagicLink(params: { token: string }, opts?: Opts): Promise<MagicLinkResult<TUserMetadata>>;
  extractMagicLinkToken(input: string | URL): string;
  verifyMagicLinkURL(params: { url: string | URL }, opts?: Opts): Promise<MagicLinkResult<TUserMetadata>>;
  getSession(opts?: Opts): Promise<{ user: User<TUserMetadata>; session: Session } | null>;
  observeSession(listener: SessionListener<TUserMetadata>, opts?: SessionObserverOptions): () => void;
  listSessions(opts?: Opts): Promise<{ sessions: Session[] }>;
  revokeSession(opts?: Opts): Promise<void>;
  revokeSessionById(sessionId: string, opts?: Opts): Promise<void>;
  revokeAllSessions(opts?: Opts): Promise<void>;
  getAccount(opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
  isEmailAvailable(email: string, opts?: Opts): Promise<boolean>;
  updateAccountMetadata(metadata?: User<TUserMetadata>['metadata'], opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
  linkEmail(email: string, opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
  unlinkEmail(opts?: Opts): Promise<{ user: User<TUserMetadata> }>;
  deleteAccount(opts?: Opts): Promise<void>;
  /** Ours: flat alias of `passkeys.autofill`. */
  signInWithAutofill(params?: { userId?: string }, opts?: Opts): Promise<PasskeySignInResult<TUserMetadata>>;
  /** Ours: cancels a pending autofill sign-in. */
  cancelAutofill(): void;
  /** Ours: revokes the session (if any) and forgets the token; a dead session is not an error. */
  signOut(opts?: Opts): Promise<void>;
  /** Ours: flat alias of `accounts.events`. */
  listAccountEvents(opts?: EventsOpts): Promise<SecurityEventPage>;
  /** Ours: the session token this client holds, or `null`. */
  getSessionToken(): string | null;
  /** Ours: replaces the session token (`null` forgets it). */
  setSessionToken(token: string | null): void;
  /** Ours: the session token, or `undefined`. */
  readonly sessionToken: string | undefined;
}

/** The reason an `AuthClientError` carries (ours, beside v0.4's fields). */
export type AuthClientErrorReason =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'internal'
  | 'unavailable'
  | 'network'
  | 'unknown';

/** A failed server call (v0.4): `status` is the HTTP status when the transport gave one. */
export declare class AuthClientError extends Error {
  constructor(message: string, options?: { status?: number; cause?: unknown; reason?: AuthClientErrorReason });
  readonly name: 'AuthClientError';
  code: 'AUTH_CLIENT_ERROR';
  status?: number;
  cause?: unknown;
  /** Ours: the finer category (non-enumerable). */
  reason?: AuthClientErrorReason;
}

/** A failed passkey prompt (v0.4): `name` is the browser error's, `cause` the browser error. */
export interface WebAuthnError extends Error {
  code:
    | 'ERROR_CEREMONY_ABORTED'
    | 'ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY'
    | 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED'
    | 'ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT'
    | 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT'
    | 'ERROR_MALFORMED_PUBKEYCREDPARAMS'
    | 'ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG'
    | 'ERROR_INVALID_DOMAIN'
    | 'ERROR_INVALID_RP_ID'
    | 'ERROR_INVALID_USER_ID_LENGTH'
    | 'ERROR_AUTHENTICATOR_GENERAL_ERROR';
  cause: unknown;
}

/** Any thrown value as an `AuthClientError` (the same object if it already is one). */
export declare function normalizeAuthClientError(error: unknown): AuthClientError;

/** A client of a passkey-magic server. */
export declare function createClient<
  TUserMetadata extends MetadataObject = MetadataObject,
  TCredentialMetadata extends MetadataObject = MetadataObject,
>(config?: ClientConfig): PasskeyMagicClient<TUserMetadata, TCredentialMetadata>;

/** Ours: module-level capability checks and helpers (the same as the client members). */
export declare function supportsPasskeys(): boolean;
export declare function supportsAutofill(): Promise<boolean>;
export declare function hasPlatformAuthenticator(): Promise<boolean>;
export declare function getBestSignInMethod(opts?: { allowMagicLink?: boolean }): Promise<PasskeySignInMethod>;
export declare function extractMagicLinkToken(input: string | URL): string;
export declare function renderQR(url: string, opts?: RenderOpts): string;
export declare function renderQRText(url: string, opts?: RenderOpts): string;
export declare function cancelAutofill(): void;
