// Shared helpers of the browser tests: start the real `passkey-magic` binary on a free
// loopback port, and launch Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binary = path.join(root, 'target/debug/passkey-magic');

/** A SQLite URL in a new temporary directory. */
export function freshDatabaseUrl() {
  return `sqlite://${mkdtempSync(path.join(tmpdir(), 'passkey-magic-'))}/passkey-magic.db`;
}

/**
 * Starts the server on 127.0.0.1 with an OS-chosen port: with `demo`, through the
 * README's demo command (`scripts/demo`), else `passkey-magic serve` directly.
 */
export async function startServer({ demo = false, args = [], databaseUrl } = {}) {
  const env = {
    ...process.env,
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    PASSKEY_MAGIC_LISTEN: '127.0.0.1:0',
    // Each server gets its own database unless a test shares one on purpose.
    PASSKEY_MAGIC_DATABASE_URL: databaseUrl ?? freshDatabaseUrl(),
  };
  const [command, commandArgs] = demo
    ? [path.join(root, 'scripts/demo'), []]
    : [binary, ['serve', ...args]];
  const child = spawn(command, commandArgs, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 300_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  // "localhost" (not 127.0.0.1) so the page is a secure context with the WebAuthn rp id.
  const base = origin.replace('127.0.0.1', 'localhost');
  return {
    origin: base,
    url: (p) => new URL(p, base).toString(),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** Launches headless Chromium with the flags this machine needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
