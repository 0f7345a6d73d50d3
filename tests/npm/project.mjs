// A fresh app project with the packed npm package installed, as a user would get it
// (`npm install passkey-magic-wasm.tgz`): shared by the Node and browser tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, 'target');
/** The tarball `scripts/lib.sh` packs. */
export const tarball = path.join(targetDir, 'npm/passkey-magic-wasm.tgz');
/** Tools from tests/node_modules. */
export const bin = (name) => path.join(root, 'tests/node_modules/.bin', name);

/** A new directory with `package.json` and the tarball installed into `node_modules`. */
export function freshProject() {
  const dir = mkdtempSync(path.join(tmpdir(), 'passkey-magic-app-'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: dir,
    stdio: 'inherit',
  });
  return dir;
}
