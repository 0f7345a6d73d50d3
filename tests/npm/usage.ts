// Type-checked (tsc --noEmit --strict) against the packed package: every member of the
// client, grouped and flat, with the result types an app relies on. Never run.
import {
  AuthClientError,
  createClient,
  normalizeAuthClientError,
  supportsPasskeys,
  supportsAutofill,
  hasPlatformAuthenticator,
  getBestSignInMethod,
  extractMagicLinkToken,
  renderQR,
  renderQRText,
  cancelAutofill,
  type ClientConfig,
  type Credential,
  type PasskeyMagicClient,
  type PasskeySignInMethod,
  type QRClientFlow,
  type QRSessionStatus,
  type SecurityEvent,
  type SecurityEventPage,
  type SecurityEventType,
  type Session,
  type User,
} from 'passkey-magic-wasm';

type Profile = { displayName: string; plan: 'free' | 'pro' };
type DeviceMeta = { nickname: string };

const config: ClientConfig = {
  request: async <T>(endpoint: string, body?: unknown, options?: { signal?: AbortSignal }) => {
    const response = await fetch(`/auth${endpoint}`, {
      method: body === undefined ? 'GET' : 'POST',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options?.signal,
    });
    return (await response.json()) as T;
  },
};

export async function everyMember(signal: AbortSignal): Promise<void> {
  const auth: PasskeyMagicClient<Profile, DeviceMeta> = createClient<Profile, DeviceMeta>(config);
  const viaFetch = createClient({ baseUrl: new URL('https://id.example/auth'), storageKey: 'pm', longPoll: true });
  const viaCookies = createClient({ baseUrl: '/auth', credentials: 'include' });
  const noToken: string | undefined = viaCookies.sessionToken;
  const opts = { signal };

  // passkeys
  const registered = await auth.passkeys.register({ email: 'a@example.com', userName: 'a' }, opts);
  const plan: 'free' | 'pro' | undefined = registered.user.metadata?.plan;
  const credentialId: string = registered.credential.id;
  const token: string = registered.session.token;
  const signedIn = await auth.passkeys.signIn({ userId: registered.user.id }, opts);
  const method: 'passkey' = signedIn.method;
  const added: { credential: { id: string } } = await auth.passkeys.add({ userName: 'b' }, opts);
  const { credentials } = await auth.passkeys.list(undefined, opts);
  const nickname: string | undefined = credentials[0]?.metadata?.nickname;
  const firstCredential: Credential<DeviceMeta> | undefined = credentials[0];
  await auth.passkeys.update({ credentialId, label: 'Laptop', metadata: { nickname: 'x' } }, opts);
  await auth.passkeys.remove(added.credential.id, opts);
  const autofilled = await auth.passkeys.autofill({}, opts);

  // qr
  const created = await auth.qr.create(opts);
  const svg: string = auth.qr.render(`https://x/qr/${created.sessionId}`, { border: 4 });
  const text: string = auth.qr.renderText(created.sessionId);
  for await (const status of auth.qr.poll(created.sessionId, created.statusToken, { interval: 500, backoffRate: 2, maxInterval: 4000, jitter: 0.2, signal })) {
    const state: QRSessionStatus['state'] = status.state;
    if (state === 'authenticated') break;
  }
  const desktop: { token: string; expiresAt: string } = await auth.qr.waitForAuthentication(created.sessionId, created.statusToken, { timeoutMs: 60_000, signal });
  await auth.qr.confirm({ sessionId: created.sessionId, confirmationCode: '1234' });
  await auth.qr.complete({ sessionId: created.sessionId, confirmationCode: '1234' });
  await auth.qr.cancel({ sessionId: created.sessionId, statusToken: created.statusToken });
  const flow: QRClientFlow = await auth.qr.createFlow({ urlBuilder: (id) => `https://x/qr/${id}` });
  flow.render();
  flow.renderText({ border: 0 });
  for await (const status of flow.poll({ interval: 1000 })) void status.confirmationRequired;
  await flow.waitForAuthentication({ timeoutMs: 1000 });
  await flow.cancel(opts);

  // magic links
  const sent: { sent: true } = await auth.magicLinks.request({ email: 'a@example.com' }, opts);
  const linked = await auth.magicLinks.verify({ token: 't' }, opts);
  const isNew: boolean = linked.isNewUser;
  const extracted: string = auth.magicLinks.extractToken(new URL('https://x/?token=t'));
  const fromUrl = await auth.magicLinks.verifyURL({ url: 'https://x/?token=t' }, opts);

  // accounts
  const account: User<Profile> = (await auth.accounts.get(opts)).user;
  const available: boolean = await auth.accounts.isEmailAvailable('b@example.com', opts);
  const linkability = await auth.accounts.canLinkEmail('b@example.com', opts);
  if (!linkability.ok) void (linkability.reason satisfies 'invalid_email' | 'email_in_use');
  await auth.accounts.updateMetadata({ displayName: 'A', plan: 'pro' }, opts);
  await auth.accounts.linkEmail('b@example.com', opts);
  await auth.accounts.unlinkEmail(opts);
  await auth.accounts.delete(opts);

  // capabilities
  const passkeys: boolean = auth.supportsPasskeys();
  const autofill: boolean = await auth.supportsAutofill();
  const platform: boolean = await auth.hasPlatformAuthenticator();
  const best: PasskeySignInMethod = await auth.getBestSignInMethod({ allowMagicLink: false });

  // flat aliases
  await auth.registerPasskey({}, opts);
  await auth.signInWithPasskey({}, opts);
  await auth.addPasskey({}, opts);
  await auth.updateCredential({ credentialId, label: 'L' }, opts);
  await auth.removeCredential(credentialId, opts);
  const listed: Credential<DeviceMeta>[] = (await auth.listCredentials(opts)).credentials;
  const flat = await auth.createQRSession(opts);
  auth.renderQR(flat.sessionId);
  auth.renderQRText(flat.sessionId, { border: 2 });
  const iterator = auth.pollQRSession(flat.sessionId, flat.statusToken, { interval: 100 });
  const first: IteratorResult<QRSessionStatus> = await iterator.next();
  await auth.waitForQRSession(flat.sessionId, flat.statusToken, { interval: 100, timeoutMs: 1000 });
  await auth.confirmQRSession({ sessionId: flat.sessionId, confirmationCode: '1' }, opts);
  await auth.completeQRSession({ sessionId: flat.sessionId }, opts);
  await auth.cancelQRSession({ sessionId: flat.sessionId, statusToken: flat.statusToken }, opts);
  await auth.requestMagicLink({ email: 'a@example.com' }, opts);
  await auth.verifyMagicLink({ token: 't' }, opts);
  auth.extractMagicLinkToken('/verify?token=t');
  await auth.verifyMagicLinkURL({ url: new URL('https://x/?token=t') }, opts);
  const current = await auth.getSession(opts);
  const session: Session | undefined = current?.session;
  const stop: () => void = auth.observeSession((value) => void value?.user.metadata?.displayName, { intervalMs: 1000, immediate: false });
  stop();
  const sessions: Session[] = (await auth.listSessions(opts)).sessions;
  await auth.revokeSession(opts);
  await auth.revokeSessionById(sessions[0]?.id ?? '', opts);
  await auth.revokeAllSessions(opts);
  await auth.getAccount(opts);
  await auth.isEmailAvailable('a@example.com', opts);
  await auth.updateAccountMetadata(undefined, opts);
  await auth.linkEmail('a@example.com', opts);
  await auth.unlinkEmail(opts);
  await auth.deleteAccount(opts);

  // our additions
  await auth.signInWithAutofill({}, opts);
  auth.cancelAutofill();
  await viaFetch.signOut(opts);
  const held: string | null = viaFetch.getSessionToken();
  viaFetch.setSessionToken(held);
  const again: string | undefined = viaFetch.sessionToken;
  const log: SecurityEventPage = await auth.accounts.events({ limit: 10, signal });
  const newest: SecurityEvent | undefined = log.events[0];
  const kind: SecurityEventType | undefined = newest?.type;
  const from: string | undefined = newest?.ipAddress;
  const reasonOf = newest?.reason === 'counterRegression';
  const older: string | null = (await auth.listAccountEvents({ cursor: log.nextCursor, limit: 5 })).nextCursor;
  await auth.accounts.events();

  // module exports and errors
  const modulePasskeys: boolean = supportsPasskeys();
  const moduleAutofill: Promise<boolean> = supportsAutofill();
  const modulePlatform: Promise<boolean> = hasPlatformAuthenticator();
  const moduleBest: PasskeySignInMethod = await getBestSignInMethod();
  const moduleToken: string = extractMagicLinkToken('?token=t');
  renderQR('x');
  renderQRText('x');
  cancelAutofill();
  try {
    await auth.getAccount();
  } catch (error) {
    const normalized: AuthClientError = normalizeAuthClientError(error);
    const status: number | undefined = normalized.status;
    const code: 'AUTH_CLIENT_ERROR' = normalized.code;
    const reason = normalized.reason;
    if (error instanceof AuthClientError) void [status, code, reason];
  }
  const manual = new AuthClientError('m', { status: 400, cause: 'x' });

  void [plan, token, method, nickname, firstCredential, autofilled, svg, text, desktop, sent, isNew, extracted, fromUrl,
    account, available, passkeys, autofill, platform, best, listed, first, session, modulePasskeys, moduleAutofill,
    modulePlatform, moduleBest, moduleToken, again, manual, kind, from, reasonOf, older];
}
