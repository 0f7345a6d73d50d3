// Chromium's virtual authenticator (DevTools protocol), for real passkey ceremonies in
// headless Chromium without hardware.

/**
 * Adds a CTAP2 platform authenticator with resident keys and user verification. With
 * `replace`, the page's previous one is removed first (one internal authenticator at a time).
 */
export async function addVirtualAuthenticator(page, { replace = false, cdp: existing } = {}) {
  const previous = replace ? page.virtualAuthenticator : undefined;
  const cdp = existing ?? previous?.cdp ?? (await page.context().newCDPSession(page));
  if (previous) {
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: previous.authenticatorId });
  }
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  page.virtualAuthenticator = { cdp, authenticatorId };
  return { cdp, authenticatorId };
}

/** In the page: parse creation options JSON, create a passkey, return `toJSON()`. */
export function createPasskey(page, optionsJSON) {
  return page.evaluate(async (json) => {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(json);
    const credential = await navigator.credentials.create({ publicKey });
    return credential.toJSON();
  }, optionsJSON);
}

/** In the page: parse request options JSON, sign in with a passkey, return `toJSON()`. */
export function getPasskey(page, optionsJSON) {
  return page.evaluate(async (json) => {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json);
    const credential = await navigator.credentials.get({ publicKey });
    return credential.toJSON();
  }, optionsJSON);
}
