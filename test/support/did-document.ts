import { ECDH } from 'node:crypto';
import { base58 } from '@scure/base';

/**
 * Structural check of an atproto DID document, written independently of the
 * world's builder: returns the list of problems (empty when valid). The
 * `#atproto` key must be a Multikey whose multibase decodes to the secp256k1
 * multicodec prefix and a point on the curve (checked by OpenSSL through
 * `ECDH.convertKey`).
 */
export function atprotoDocumentProblems(doc: unknown, expect: { did: string; handle: string; pds?: string }): string[] {
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['not an object'];
  const d = doc as Record<string, unknown>;
  if (d.id !== expect.did) problems.push(`id is ${String(d.id)}, expected ${expect.did}`);
  if (!Array.isArray(d.alsoKnownAs) || !d.alsoKnownAs.includes(`at://${expect.handle}`)) {
    problems.push('alsoKnownAs lacks the handle');
  }
  const methods = Array.isArray(d.verificationMethod) ? (d.verificationMethod as Record<string, unknown>[]) : [];
  const key = methods.find((m) => m.id === `${expect.did}#atproto` || m.id === '#atproto');
  if (key === undefined) {
    problems.push('no #atproto verification method');
  } else {
    if (key.type !== 'Multikey') problems.push(`key type ${String(key.type)}`);
    if (key.controller !== expect.did) problems.push(`key controller ${String(key.controller)}`);
    const multibase = key.publicKeyMultibase;
    if (typeof multibase !== 'string' || !multibase.startsWith('z')) {
      problems.push('publicKeyMultibase is not base58btc');
    } else {
      const bytes = base58.decode(multibase.slice(1));
      if (bytes.length !== 35 || bytes[0] !== 0xe7 || bytes[1] !== 0x01) {
        problems.push('publicKeyMultibase is not a secp256k1 multikey');
      } else {
        try {
          const uncompressed = ECDH.convertKey(Buffer.from(bytes.subarray(2)), 'secp256k1', undefined, undefined, 'uncompressed');
          if ((uncompressed as Buffer).length !== 65) problems.push('point did not decompress to 65 bytes');
        } catch (error) {
          problems.push(`not a secp256k1 point: ${String(error)}`);
        }
      }
    }
  }
  const services = Array.isArray(d.service) ? (d.service as Record<string, unknown>[]) : [];
  const pds = services.find((s) => s.id === '#atproto_pds' || s.id === `${expect.did}#atproto_pds`);
  if (pds === undefined) problems.push('no #atproto_pds service');
  else {
    if (pds.type !== 'AtprotoPersonalDataServer') problems.push(`pds type ${String(pds.type)}`);
    if (pds.serviceEndpoint !== (expect.pds ?? 'https://pds.test')) problems.push(`pds endpoint ${String(pds.serviceEndpoint)}`);
  }
  return problems;
}
