// The dev mailbox: the sign-in and email-confirmation emails the dev outbox holds (GET /auth/dev/outbox, served
// only by `passkey-magic serve --dev`), newest first. This is a dev-server feature, not
// part of the auth API, so it is read with plain fetch.
import { $, say, fail, formatDate, ready } from './common.js';

const REFRESH_MS = 3000;
let shown; // the tokens on screen, newest first

async function load() {
  let messages;
  try {
    const response = await fetch('/auth/dev/outbox', { cache: 'no-store' });
    if (response.status === 404) {
      fail(new Error('The dev mailbox is off: start the server with --dev (./scripts/demo does).'));
      return;
    }
    if (!response.ok) throw new Error(`The mailbox answered ${response.status}.`);
    ({ messages } = await response.json());
  } catch (error) {
    fail(
      error instanceof TypeError
        ? new Error('The server cannot be reached. Is the demo still running? Start it with ./scripts/demo.')
        : error,
    );
    return;
  }
  $('error').textContent = '';
  const tokens = messages.map((message) => message.token).join(' ');
  if (tokens === shown) return;
  // Announce what arrived since the last look (not the whole list again).
  if (shown !== undefined && messages.length && !shown.includes(messages[0].token)) {
    say(`New email for ${messages[0].email}.`);
  }
  shown = tokens;
  const list = $('messages');
  const items = messages.map((message) => {
    const item = document.createElement('li');
    const title = document.createElement('div');
    title.className = 'item-title';
    // A confirmation of email linking (verified linking) or a sign-in link.
    const confirmation = message.subject?.startsWith('Confirm');
    title.textContent = `${confirmation ? 'Email confirmation' : 'Sign-in link'} for ${message.email}`;
    const when = document.createElement('div');
    when.className = 'hint';
    when.textContent = `Sent ${formatDate(message.sentAt)}`;
    const link = document.createElement('a');
    link.href = message.url;
    link.className = 'button primary';
    link.textContent = `Open the link for ${message.email}`;
    item.append(title, when, link);
    return item;
  });
  list.replaceChildren(...items);
  $('empty').hidden = messages.length > 0;
  list.dataset.count = String(messages.length);
}

$('refresh').addEventListener('click', async () => {
  await load();
  if (!$('error').textContent) say('Mailbox refreshed.');
});

await load();
ready();
setInterval(() => {
  if (document.visibilityState === 'visible') load();
}, REFRESH_MS);
