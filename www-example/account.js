// The account page: passkeys, email, sessions, recent activity (the security log),
// profile metadata and account deletion, for the signed-in user, all through the SDK.
import { auth, $, say, fail, attempt, formatDate, accountName, methodName, ready } from './common.js';
import { providerName } from './providers.js';

let state; // { user, session, credentials, sessions, activity: { events, nextCursor } }

/** Events shown per page of "Recent activity". */
const ACTIVITY_PAGE = 8;

// Linking an email is verified: the server sends a confirmation link to the address and
// answers with the user unchanged. The page remembers which address waits for its
// confirmation (per account, in this browser) to show it until the link is used.
const pendingKey = (user) => `passkey-magic-demo:pending-email:${user.id}`;
const pendingEmail = (user) => localStorage.getItem(pendingKey(user));
const sameEmail = (a, b) => Boolean(a && b) && a.toLowerCase() === b.toLowerCase();

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child != null));
  return node;
}

function facts(pairs) {
  const list = element('dl', { className: 'facts' });
  for (const [term, value] of pairs) list.append(element('dt', {}, term), element('dd', {}, value));
  return list;
}

/** "Chrome 131 on Linux"-style summary of a user agent string (the full one as a tooltip). */
function browserSummary(userAgent) {
  if (!userAgent) return 'unknown browser';
  const browser =
    userAgent.match(/(Edg|OPR|Firefox|Chrome|Chromium|Version)\/(\d+)/) ?? [];
  const names = { Edg: 'Edge', OPR: 'Opera', Version: 'Safari' };
  const os = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Mac OS X/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : undefined;
  const name = browser[1] ? `${names[browser[1]] ?? browser[1]} ${browser[2]}` : userAgent.slice(0, 40);
  const headless = /Headless/.test(userAgent) ? ' (headless)' : '';
  return `${name}${headless}${os ? ` on ${os}` : ''}`;
}

function showSignedOut(message) {
  state = undefined;
  $('account-body').hidden = true;
  $('signed-out').hidden = false;
  $('who').textContent = 'Signed out.';
  if (message) say(message);
}

async function load() {
  const current = await auth.getSession();
  if (!current) {
    showSignedOut();
    return false;
  }
  try {
    const [{ user }, { credentials }, { sessions }, activity] = await Promise.all([
      auth.accounts.get(),
      auth.passkeys.list(),
      auth.listSessions(),
      auth.accounts.events({ limit: ACTIVITY_PAGE }),
    ]);
    state = { user, session: current.session, credentials, sessions, activity };
  } catch (error) {
    fail(error);
    return false;
  }
  render();
  return true;
}

function render() {
  const { user, session, credentials, sessions } = state;
  $('signed-out').hidden = true;
  $('account-body').hidden = false;
  $('who').textContent = `Signed in as ${accountName(user)} (${methodName(session.authMethod)}).`;

  // Profile
  $('display-name').value = user.metadata?.displayName ?? '';
  $('user-id').textContent = user.id;
  $('user-created').textContent = formatDate(user.createdAt);

  // Passkeys
  const lastOne = credentials.length === 1 && !user.email;
  $('passkeys').replaceChildren(
    ...credentials.map((credential, index) => passkeyItem(credential, index, lastOne)),
  );
  if (credentials.length === 0) {
    $('passkeys').append(element('li', {}, 'No passkeys yet: add one to sign in without email.'));
  }

  // Email
  $('email-current').textContent = user.email
    ? `Linked: ${user.email}`
    : 'No email linked: you sign in with passkeys only.';
  let pending = pendingEmail(user);
  if (pending && sameEmail(pending, user.email)) {
    localStorage.removeItem(pendingKey(user));
    pending = null;
  }
  $('email-pending').hidden = !pending;
  $('email-pending').textContent = pending
    ? `Waiting for confirmation: we sent a link to ${pending}. Open it to link this address; until then it is not linked.`
    : '';
  $('link-email-button').textContent = user.email ? 'Change email' : 'Link email';
  $('unlink-email').hidden = !user.email;
  $('unlink-email').disabled = credentials.length === 0;
  $('unlink-hint').hidden = !(user.email && credentials.length === 0);

  // Sessions, this one first
  const ordered = [...sessions].sort((a, b) => (a.id === session.id ? -1 : b.id === session.id ? 1 : 0));
  $('sessions').replaceChildren(...ordered.map((item) => sessionItem(item, item.id === session.id)));
  $('revoke-others').disabled = sessions.length < 2;

  renderActivity();
}

const EVENT_NAMES = {
  signIn: 'Signed in',
  signInFailed: 'Sign-in refused',
  passkeyAdded: 'Passkey added',
  passkeyRenamed: 'Passkey renamed',
  passkeyRemoved: 'Passkey removed',
  sessionRevoked: 'Session signed out',
  allSessionsRevoked: 'Signed out everywhere',
  emailLinked: 'Email linked',
  emailUnlinked: 'Email unlinked',
  accountDeleted: 'Account deleted',
};

const SIGN_IN_WITH = { passkey: 'a passkey', 'magic-link': 'an email link', qr: 'a QR code' };

const FAILURES = {
  verificationFailed: 'the passkey could not be verified',
  counterRegression: 'the passkey looked copied (its counter went back)',
  blocked: 'blocked by the site',
};

/** What an event was about, in words: the method, the passkey's current name, why it failed. */
function eventDetail(event) {
  const parts = [];
  if (event.method) parts.push(`with ${SIGN_IN_WITH[event.method] ?? event.method}`);
  // Events keep the passkey's id, not its name then: show the name it has now.
  const passkey = state.credentials.find((c) => c.id === event.credentialId);
  if (passkey) {
    const name = `“${passkey.label || providerName(passkey.aaguid) || 'passkey'}”`;
    parts.push(event.type === 'passkeyRenamed' ? `now named ${name}` : name);
  }
  if (event.sessionId === state.session.id) parts.push('this session');
  if (event.reason) parts.push(FAILURES[event.reason] ?? event.reason);
  return parts.join(', ');
}

/** An event's time to the second (several may happen within a minute). */
function formatTime(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

function activityItem(event) {
  const item = element('li', { className: 'event' });
  item.dataset.eventType = event.type;
  const name = element('span', {
    className: event.type === 'signInFailed' ? 'failed' : '',
    textContent: EVENT_NAMES[event.type] ?? event.type,
  });
  const detail = eventDetail(event);
  item.append(
    element(
      'div',
      { className: 'item-title' },
      name,
      detail ? ` · ${detail}` : null,
      element('span', { className: 'when' }, ` · ${formatTime(event.createdAt)}`),
    ),
    facts([
      ['From', `${browserSummary(event.userAgent)}${event.ipAddress ? ` at ${event.ipAddress}` : ''}`],
    ]),
  );
  if (event.userAgent) item.lastChild.lastChild.title = event.userAgent;
  return item;
}

function renderActivity() {
  const { events, nextCursor } = state.activity;
  $('activity').replaceChildren(...events.map(activityItem));
  if (events.length === 0) $('activity').append(element('li', {}, 'Nothing yet.'));
  $('activity-more').hidden = !nextCursor;
}

$('activity-more').addEventListener('click', async () => {
  const { events, nextCursor } = state.activity;
  const page = await attempt(() => auth.accounts.events({ limit: ACTIVITY_PAGE, cursor: nextCursor }));
  if (!page) return;
  state.activity = { events: [...events, ...page.events], nextCursor: page.nextCursor };
  renderActivity();
  // Keep the reader's place: focus the first of the newly shown events.
  const first = $('activity').children[events.length];
  if (first) {
    first.tabIndex = -1;
    first.focus();
  }
});

function passkeyItem(credential, index, lastOne) {
  const provider = providerName(credential.aaguid);
  const title = credential.label || provider || `Passkey ${index + 1}`;
  const titleId = `passkey-${index}-title`;
  const item = element('li', { className: 'passkey' });
  item.dataset.credentialId = credential.id;
  item.setAttribute('aria-labelledby', titleId);
  item.append(
    element('div', { className: 'item-title', id: titleId }, title),
    facts([
      ['Provider', provider ?? 'unknown provider'],
      ['Created', formatDate(credential.createdAt)],
      ['Last used', credential.lastUsedAt ? formatDate(credential.lastUsedAt) : 'not yet'],
      [
        'Backed up',
        credential.backedUp
          ? 'yes, synced'
          : credential.deviceType === 'multiDevice'
            ? 'no (can be synced)'
            : 'no, this device only',
      ],
    ]),
  );

  const rename = element('button', { type: 'button', textContent: 'Rename' });
  rename.setAttribute('aria-label', `Rename ${title}`);
  const remove = element('button', { type: 'button', className: 'danger', textContent: 'Remove' });
  remove.setAttribute('aria-label', `Remove ${title}`);
  const actions = element('div', { className: 'actions' }, rename, remove);
  item.append(actions);
  if (lastOne) {
    remove.disabled = true;
    const hint = element('p', {
      className: 'hint',
      id: `passkey-${index}-hint`,
      textContent: 'Your only way to sign in: link an email or add another passkey before removing it.',
    });
    remove.setAttribute('aria-describedby', hint.id);
    item.append(hint);
  }

  rename.addEventListener('click', () => {
    const inputId = `passkey-${index}-label`;
    const input = element('input', { type: 'text', id: inputId, maxLength: 200, value: credential.label ?? '' });
    const form = element(
      'form',
      { className: 'rename' },
      element('label', { htmlFor: inputId, textContent: `New name for ${title}` }),
      input,
      element(
        'div',
        { className: 'actions' },
        element('button', { type: 'submit', className: 'primary', textContent: 'Save' }),
        element('button', { type: 'button', textContent: 'Cancel', onclick: () => { form.replaceWith(actions); rename.focus(); } }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const label = input.value.trim();
      if (!label) {
        fail(new Error('Type a name for the passkey.'));
        input.focus();
        return;
      }
      const done = await attempt(async () => {
        await auth.passkeys.update({ credentialId: credential.id, label });
        return true;
      });
      if (done && (await load())) say(`Passkey renamed to “${label}”.`);
    });
    actions.replaceWith(form);
    input.focus();
  });

  remove.addEventListener('click', async () => {
    if (!confirm(`Remove the passkey “${title}”? It will no longer sign you in.`)) return;
    const done = await attempt(async () => {
      await auth.passkeys.remove(credential.id);
      return true;
    });
    if (done && (await load())) {
      say(`Passkey “${title}” removed.`);
      $('add-passkey').focus();
    }
  });
  return item;
}

function sessionItem(session, current) {
  const titleId = `session-${session.id}`;
  const item = element('li', { className: 'session' });
  item.dataset.sessionId = session.id;
  item.setAttribute('aria-labelledby', titleId);
  const title = element(
    'div',
    { className: 'item-title', id: titleId },
    `${methodName(session.authMethod)} · ${browserSummary(session.userAgent)}`,
  );
  if (current) title.append(' ', element('span', { className: 'badge current', textContent: 'this session' }));
  item.append(
    title,
    facts([
      ['Signed in', formatDate(session.createdAt)],
      ['Expires', formatDate(session.expiresAt)],
      ['User agent', session.userAgent ?? 'unknown'],
    ]),
  );
  if (!current) {
    const revoke = element('button', { type: 'button', className: 'danger', textContent: 'Revoke' });
    revoke.setAttribute('aria-label', `Revoke the session ${title.textContent}`);
    revoke.addEventListener('click', async () => {
      const done = await attempt(async () => {
        await auth.revokeSessionById(session.id);
        return true;
      });
      if (done && (await load())) say('Session revoked: that browser is signed out.');
    });
    item.append(element('div', { className: 'actions' }, revoke));
  }
  return item;
}

$('profile-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const displayName = $('display-name').value.trim();
  const metadata = { ...(state.user.metadata ?? {}) };
  if (displayName) metadata.displayName = displayName;
  else delete metadata.displayName;
  const result = await attempt(() => auth.accounts.updateMetadata(metadata));
  if (result && (await load())) say(displayName ? `Display name saved: ${displayName}.` : 'Display name removed.');
});

$('add-passkey').addEventListener('click', async () => {
  say('Creating a new passkey…');
  const result = await attempt(() => auth.passkeys.add(), { creating: true, action: 'add the passkey' });
  if (result && (await load())) say('New passkey added.');
});

$('link-email-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('link-email').value.trim();
  if (!email || !$('link-email').checkValidity()) {
    fail(new Error('Type a valid email address.'));
    $('link-email').focus();
    return;
  }
  const result = await attempt(async () => {
    const check = await auth.accounts.canLinkEmail(email);
    if (!check.ok) {
      throw new Error(
        check.reason === 'email_in_use'
          ? 'That email belongs to another account: accounts are never merged. Sign in to that account instead, or use another address.'
          : 'That email address is not valid.',
      );
    }
    return auth.accounts.linkEmail(email);
  });
  if (!result) return;
  if (sameEmail(result.user.email, email)) {
    localStorage.removeItem(pendingKey(result.user));
  } else {
    localStorage.setItem(pendingKey(result.user), email);
  }
  if (await load()) {
    $('link-email').value = '';
    say(
      sameEmail(result.user.email, email)
        ? `Email linked: ${result.user.email}.`
        : `Confirmation sent to ${email}: open the link in that email to link it.`,
    );
  }
});

$('unlink-email').addEventListener('click', async () => {
  const result = await attempt(() => auth.accounts.unlinkEmail());
  if (result && (await load())) say('Email unlinked: you sign in with passkeys only.');
});

$('revoke-others').addEventListener('click', async () => {
  const others = state.sessions.filter((session) => session.id !== state.session.id);
  const done = await attempt(async () => {
    for (const session of others) await auth.revokeSessionById(session.id);
    return true;
  });
  if (done && (await load())) {
    say(`Signed out ${others.length} other session${others.length === 1 ? '' : 's'}.`);
  }
});

$('revoke-all').addEventListener('click', async () => {
  const done = await attempt(async () => {
    await auth.revokeAllSessions();
    return true;
  });
  if (done) showSignedOut('Signed out everywhere, this browser too.');
});

$('sign-out').addEventListener('click', async () => {
  const done = await attempt(async () => {
    await auth.revokeSession();
    return true;
  });
  if (done) showSignedOut('Signed out.');
});

$('delete-account').addEventListener('click', () => {
  $('delete-dialog').returnValue = '';
  $('delete-dialog').showModal();
});
$('delete-dialog').addEventListener('close', async () => {
  if ($('delete-dialog').returnValue !== 'delete') {
    $('delete-account').focus();
    return;
  }
  const done = await attempt(async () => {
    await auth.accounts.delete();
    return true;
  });
  if (done) showSignedOut('Your account was deleted, with its passkeys and sessions.');
});

// Another tab or device may sign this session out: the page follows.
auth.observeSession(
  async (current) => {
    if (current || !state) return;
    // `null` is any refusal: tell an ended session from an unreachable server.
    try {
      await auth.accounts.get();
    } catch (error) {
      if (error?.status === 401) showSignedOut('This session has ended (signed out elsewhere).');
      else fail(error);
    }
  },
  { intervalMs: 5000, immediate: false },
);

await load();
ready();
