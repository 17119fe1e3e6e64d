#!/usr/bin/env node
// The committed prebuild must match the committed native sources. This
// script hashes binding.gyp and native/src/* (sorted, path + content) and
// either writes the hash next to the prebuild (`write`, run by
// `npm run prebuild`) or compares it (`check`, exit 1 when stale).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const hashFile = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'source.sha256');

export function nativeSourceHash() {
  const files = ['binding.gyp', ...readdirSync(join(root, 'native', 'src')).sort().map((f) => `native/src/${f}`)];
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  const actual = nativeSourceHash();
  if (mode === 'write') {
    writeFileSync(hashFile, `${actual}\n`);
    console.log(`wrote ${hashFile}: ${actual}`);
  } else if (mode === 'check') {
    const stored = existsSync(hashFile) ? readFileSync(hashFile, 'utf8').trim() : '(missing)';
    if (stored !== actual) {
      console.error(`stale prebuild: sources hash ${actual}, prebuild built from ${stored}; run 'npm run prebuild'`);
      process.exit(1);
    }
    console.log(`prebuild matches sources (${actual})`);
  } else {
    console.error('usage: source-hash.mjs write|check');
    process.exit(2);
  }
}
