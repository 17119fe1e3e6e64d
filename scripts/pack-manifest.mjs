#!/usr/bin/env node
// `npm pack` / `npm publish` hooks that keep the packed package.json free of
// install-time scripts. `prepare` builds dist/ when `npm ci` runs in a
// clone (the README's first command), but in a tarball npm counts it as an
// install script: npm 11 lists the package under "install scripts not yet
// covered by allowScripts" on every install of the tarball. So:
//   prepack  (strip):   save package.json to .cache/, drop `prepare` from it;
//   postpack (restore): put the saved package.json back.
// A strip after a pack that failed half-way restores first, so the saved
// copy is always the committed file.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = join(root, 'package.json');
const saved = join(root, '.cache', 'package.json.prepack');
/** Scripts npm may run when a tarball is installed (`prepare` counts for non-registry sources). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

function restore() {
  if (!existsSync(saved)) return;
  copyFileSync(saved, manifest);
  rmSync(saved);
}

const mode = process.argv[2];
if (mode === 'strip') {
  restore();
  mkdirSync(dirname(saved), { recursive: true });
  copyFileSync(manifest, saved);
  const json = JSON.parse(readFileSync(manifest, 'utf8'));
  for (const name of INSTALL_SCRIPTS) delete json.scripts?.[name];
  writeFileSync(manifest, `${JSON.stringify(json, null, 2)}\n`);
} else if (mode === 'restore') {
  restore();
} else {
  console.error('usage: pack-manifest.mjs strip|restore');
  process.exit(2);
}
