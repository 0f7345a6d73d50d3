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
