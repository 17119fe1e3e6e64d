#!/usr/bin/env node
// Every committed prebuild must match the committed native sources. This
// script hashes the build's inputs (binding.gyp and native/src/*, sorted,
// path + content) and compares the hash with the `sourceHash` that
// scripts/prebuild.mjs wrote into each prebuilds/<tuple>/build.json
// (`check`, exit 1 when any is stale or missing), or prints it (`print`).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuildsDir = join(root, 'prebuilds');

/** The files a prebuild is built from, relative to the package root. */
export function nativeInputs() {
  return ['binding.gyp', ...readdirSync(join(root, 'native', 'src')).sort().map((f) => `native/src/${f}`)];
}

/** sha256 over the native build inputs. */
export function nativeSourceHash() {
  const hash = createHash('sha256');
  for (const file of nativeInputs()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Each prebuild tuple directory and the source hash its build.json records (`null` when missing). */
export function recordedHashes() {
  if (!existsSync(prebuildsDir)) return [];
  return readdirSync(prebuildsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const info = join(prebuildsDir, d.name, 'build.json');
      return { tuple: d.name, sourceHash: existsSync(info) ? JSON.parse(readFileSync(info, 'utf8')).sourceHash ?? null : null };
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  const actual = nativeSourceHash();
  if (mode === 'print') {
    console.log(actual);
  } else if (mode === 'check') {
    const recorded = recordedHashes();
    const stale = recorded.filter((r) => r.sourceHash !== actual);
    if (recorded.length === 0) {
      console.error(`no prebuilds in ${prebuildsDir}; run 'npm run prebuild'`);
      process.exit(1);
    }
    for (const r of stale) {
      console.error(`stale prebuild ${r.tuple}: sources hash ${actual}, prebuild built from ${r.sourceHash ?? '(no build.json)'}; run 'npm run prebuild'`);
    }
    if (stale.length > 0) process.exit(1);
    console.log(`prebuilds match sources (${recorded.map((r) => r.tuple).join(', ')}: ${actual})`);
  } else {
    console.error('usage: source-hash.mjs check|print');
    process.exit(2);
  }
}
