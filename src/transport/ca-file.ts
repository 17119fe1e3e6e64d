import { readFileSync } from 'node:fs';
import { InvalidOptionsError } from '../errors.js';
import { InternalTransportError } from './errors.js';

/** Failures that say nothing about the file: the process is short of a resource. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EAGAIN', 'EINTR']);

/**
 * Read the `caFile` transport option once, at construction, for every
 * transport: the file must be readable and hold at least one PEM
 * certificate. Reading it here means a missing or unreadable file is an
 * `InvalidOptionsError` when the transport is created, not a `TlsError`
 * on every request later (which a resolver would report as "no DID"), and
 * both transports trust exactly what the file held at that moment.
 *
 * @returns the file's PEM text
 * @throws InvalidOptionsError naming `transport.caFile` when the file is missing, unreadable or not PEM
 * @throws InternalTransportError when the process cannot open it right now (e.g. out of file descriptors)
 */
export function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && TRANSIENT.has(code)) {
      throw new InternalTransportError(`cannot read caFile '${path}' now: ${(error as Error).message}`, { cause: error });
    }
    throw new InvalidOptionsError('transport.caFile', `cannot read '${path}': ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidOptionsError('transport.caFile', `'${path}' holds no PEM certificate`);
  }
  if (pem.includes('\0')) {
    throw new InvalidOptionsError('transport.caFile', `'${path}' is not a text PEM file`);
  }
  return pem;
}
