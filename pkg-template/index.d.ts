/** Machine-readable error categories (the server's `code`, or derived from the status). */
export type AuthErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'internal'
  | 'unavailable';

/** A failed call: `status` is the HTTP status (0 when no response arrived). */
export declare class AuthClientError extends Error {
  constructor(message: string, status?: number, code?: AuthErrorCode);
  readonly name: 'AuthClientError';
  status: number;
  code: AuthErrorCode;
}

/** `true` when WebAuthn passkeys are available in this browser. */
export declare function supportsPasskeys(): boolean;
/** Resolves to `true` when passkeys can be offered in form autofill. */
export declare function supportsAutofill(): Promise<boolean>;
/** Resolves to `true` when the device has a user-verifying platform authenticator. */
export declare function hasPlatformAuthenticator(): Promise<boolean>;
/** The magic-link token of a URL (absolute or relative); throws `AuthClientError` when there is none. */
export declare function extractMagicLinkToken(url: string): string;

/** JSON metadata: any JSON object. */
export type Metadata = Record<string, unknown>;

export interface User {
  id: string;
  email?: string;
  createdAt: string;
  metadata?: Metadata;
}

export interface Session {
  id: string;
  /** Present only in the response that created the session. */
  token?: string;
  userId: string;
  authMethod: 'passkey' | 'magic-link' | 'qr';
  expiresAt: string;
  createdAt: string;
  userAgent?: string;
  ipAddress?: string;
  authContext?: { qrSessionId?: string };
}

export interface Credential {
  id: string;
  userId: string;
  publicKey: string;
  counter: number;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  transports?: string[];
  label?: string;
  createdAt: string;
  metadata?: Metadata;
}

export interface QRStatus {
  state: 'created' | 'scanned' | 'challenged' | 'authenticated' | 'expired' | 'cancelled';
  confirmationRequired?: boolean;
  confirmed?: boolean;
  /** Present in exactly one `authenticated` status: the desktop's new session. */
  session?: { token: string; expiresAt: string };
}

export interface SignInResult {
  method: 'passkey' | 'magic-link' | 'qr';
  user: User;
  session: Session;
}

export interface CallOptions {
  /** Aborts the browser's passkey prompt. */
  signal?: AbortSignal;
}

export interface ClientOptions {
  /** Where the API is mounted. Default: `/auth`. */
  baseUrl?: string;
  /** A session token saved earlier. */
  sessionToken?: string;
}

export interface AuthClient {
  passkeys: {
    register(
      input?: { email?: string; userName?: string; userId?: string },
      options?: CallOptions,
    ): Promise<SignInResult & { credential: Credential }>;
    signIn(input?: { userId?: string }, options?: CallOptions): Promise<SignInResult>;
  };
  qr: {
    create(): Promise<{ sessionId: string; statusToken: string; confirmationCode?: string }>;
    status(sessionId: string, statusToken: string, options?: { wait?: number }): Promise<QRStatus>;
    waitForAuthentication(
      sessionId: string,
      statusToken: string,
      options?: { signal?: AbortSignal; timeoutMs?: number; intervalMs?: number },
    ): Promise<QRStatus>;
    cancel(input: { sessionId: string; statusToken: string }): Promise<{ ok: true }>;
    scan(sessionId: string): Promise<{ ok: true }>;
    confirm(sessionId: string, confirmationCode: string): Promise<{ ok: true }>;
    complete(sessionId: string, options?: { userId?: string; signal?: AbortSignal }): Promise<SignInResult>;
  };
  magicLinks: {
    request(input: { email: string }): Promise<{ sent: true }>;
    verify(input: { token: string }): Promise<SignInResult & { isNewUser: boolean }>;
    extractToken(url: string): string;
    verifyURL(input: { url: string }): Promise<SignInResult & { isNewUser: boolean }>;
  };
  getSession(): Promise<{ user: User; session: Session } | null>;
  signOut(): Promise<void>;
  readonly sessionToken: string | undefined;
  setSessionToken(token: string | null): void;
}

/** A client of a passkey-magic server. */
export declare function createClient(options?: ClientOptions): AuthClient;
