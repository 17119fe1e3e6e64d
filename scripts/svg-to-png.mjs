#!/usr/bin/env node
// Render an SVG (e.g. a soak's memory.svg) to PNG the way a viewer would,
// with resvg (@resvg/resvg-js, a devDependency) and the system's fonts:
//   node scripts/svg-to-png.mjs memory.svg memory.png
import { readFileSync, writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: node scripts/svg-to-png.mjs <in.svg> <out.png>\n');
  process.exit(2);
}
const png = new Resvg(readFileSync(input, 'utf8'), { font: { loadSystemFonts: true }, fitTo: { mode: 'original' } }).render().asPng();
writeFileSync(output, png);
process.stdout.write(`${output}: ${png.length} bytes\n`);
