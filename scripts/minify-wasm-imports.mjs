// Shortens the import and export names of the npm package's wasm module and of its JS
// glue, in place: `node scripts/minify-wasm-imports.mjs <package dir>`. wasm-bindgen
// names each import `__wbg_<name>_<16 hex digits>`, the module
// `./passkey_magic_client_bg.js` and closure exports `..._invoke__h<16 hex digits>`;
// the hex digits do not compress, and they appear in both files. Every import becomes
// `a`, `b`, … in module `a`; the glue's import object gets the same keys. An export is
// renamed when the glue uses it only as `wasm.<name>` (the `_bg.wasm.d.ts` follows).
// Fails (and changes nothing) when the glue does not name an import exactly once as a
// key of its import object.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const wasmPath = join(dir, 'passkey_magic_client_bg.wasm');
const jsPath = join(dir, 'passkey_magic_client.js');
const MODULE = './passkey_magic_client_bg.js';

const dtsPath = join(dir, 'passkey_magic_client_bg.wasm.d.ts');
const wasm = readFileSync(wasmPath);
let js = readFileSync(jsPath, 'utf8');
let dts = readFileSync(dtsPath, 'utf8');
const escape = (text) => text.replace(/[$]/g, '\\$');

function leb(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, pos];
  }
}

function toLeb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

const nameBytes = (text) => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([toLeb(bytes.length), bytes]);
};

function shortName(index) {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let name = '';
  do {
    name = letters[index % letters.length] + name;
    index = Math.floor(index / letters.length) - 1;
  } while (index >= 0);
  return name;
}

function skipLimits(buf, pos) {
  const flags = buf[pos++];
  [, pos] = leb(buf, pos);
  if (flags & 1) [, pos] = leb(buf, pos);
  return pos;
}

if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${wasmPath}: not a wasm module`);
const parts = [wasm.subarray(0, 8)];
let pos = 8;
let renamed = 0;
while (pos < wasm.length) {
  const id = wasm[pos];
  const [size, body] = leb(wasm, pos + 1);
  const end = body + size;
  if (id === 7) {
    parts.push(exportSection(body, end));
    pos = end;
    continue;
  }
  if (id !== 2) {
    parts.push(wasm.subarray(pos, end));
    pos = end;
    continue;
  }
  let [count, p] = leb(wasm, body);
  const entries = [toLeb(count)];
  for (let i = 0; i < count; i++) {
    let length;
    [length, p] = leb(wasm, p);
    const module = wasm.toString('utf8', p, p + length);
    p += length;
    [length, p] = leb(wasm, p);
    const field = wasm.toString('utf8', p, p + length);
    p += length;
    const descStart = p;
    const kind = wasm[p++];
    if (kind === 0) [, p] = leb(wasm, p);
    else if (kind === 1) p = skipLimits(wasm, p + 1);
    else if (kind === 2) p = skipLimits(wasm, p);
    else if (kind === 3) p += 2;
    else if (kind === 4) [, p] = leb(wasm, p + 1);
    else throw new Error(`unknown import kind ${kind}`);
    const desc = wasm.subarray(descStart, p);
    if (module !== MODULE) {
      entries.push(nameBytes(module), nameBytes(field), desc);
      continue;
    }
    const short = shortName(renamed++);
    const key = new RegExp(`(?<![\\w$])${escape(field)}(?=: function)`, 'g');
    const uses = js.match(key)?.length ?? 0;
    if (uses !== 1) throw new Error(`${field}: ${uses} keys in the glue, expected 1`);
    js = js.replace(key, short);
    entries.push(nameBytes('a'), nameBytes(short), desc);
  }
  if (p !== end) throw new Error('import section not fully parsed');
  const content = Buffer.concat(entries);
  parts.push(Buffer.from([2]), toLeb(content.length), content);
  pos = end;
}

// The export section with every export the glue only calls as `wasm.<name>` renamed.
function exportSection(body, end) {
  let [count, p] = leb(wasm, body);
  const entries = [toLeb(count)];
  let next = 0;
  for (let i = 0; i < count; i++) {
    let length;
    [length, p] = leb(wasm, p);
    let name = wasm.toString('utf8', p, p + length);
    p += length;
    const descStart = p;
    [, p] = leb(wasm, p + 1);
    const any = new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`, 'g');
    const member = new RegExp(`(?<![\\w$])wasm\\.${escape(name)}(?![\\w$])`, 'g');
    const uses = js.match(member)?.length ?? 0;
    if (uses > 0 && uses === js.match(any).length) {
      const short = `_${shortName(next++)}`;
      js = js.replace(member, `wasm.${short}`);
      const declaration = new RegExp(`export const ${escape(name)}:`);
      if (!declaration.test(dts)) throw new Error(`${name}: not declared in ${dtsPath}`);
      dts = dts.replace(declaration, `export const ${short}:`);
      name = short;
    }
    entries.push(nameBytes(name), wasm.subarray(descStart, p));
  }
  if (p !== end) throw new Error('export section not fully parsed');
  const content = Buffer.concat(entries);
  return Buffer.concat([Buffer.from([7]), toLeb(content.length), content]);
}

const moduleKey = `"${MODULE}": import0`;
if (js.split(moduleKey).length !== 2) throw new Error(`glue: expected one ${moduleKey}`);
js = js.replace(moduleKey, '"a": import0');
writeFileSync(wasmPath, Buffer.concat(parts));
writeFileSync(jsPath, js);
writeFileSync(dtsPath, dts);
console.log(`minified ${renamed} wasm imports`);
