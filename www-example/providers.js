// Names of passkey providers by AAGUID (see data/README.md): "iCloud Keychain",
// "Google Password Manager", ... An unknown or all-zero AAGUID has no name.
const names = await fetch(new URL('./data/passkey-provider-aaguids.json', import.meta.url))
  .then((response) => (response.ok ? response.json() : {}))
  .catch(() => ({}));

/** The provider's name for an AAGUID, or `undefined` when it is not known. */
export function providerName(aaguid) {
  if (typeof aaguid !== 'string') return undefined;
  return names[aaguid.toLowerCase()];
}
