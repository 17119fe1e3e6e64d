import { readFileSync } from 'node:fs';

/** Directory of the CC0 atproto interop vectors copied into this repo. */
export const INTEROP_DIR = new URL('../fixtures/interop/', import.meta.url);

/**
 * The test lines of a syntax vector file, exactly as the reference tests
 * read them: every line, untrimmed (some invalid cases are leading or
 * trailing spaces), except comment lines (`#…`) and empty lines.
 */
export function vectorLines(name: string): string[] {
  const text = readFileSync(new URL(name, INTEROP_DIR), 'utf8');
  return text.split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** A JSON vector file from the interop directory. */
export function vectorJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, INTEROP_DIR), 'utf8')) as T;
}
