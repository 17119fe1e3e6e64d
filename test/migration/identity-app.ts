/*
 * A file written for @atproto/identity, the way its README and the atproto
 * repository use it: a feed generator's service-auth key lookup
 * (bluesky-social/feed-generator src/auth.ts), JWT verification that
 * refetches the key after a bad signature (@atproto/xrpc-server verifyJwt),
 * and an AppView's identity routes and handle indexing
 * (packages/bsky data-plane routes/identity.ts and indexing/index.ts).
 *
 * test/migration/migration.test.ts runs it as is on @atproto/identity, then
 * applies the one-line changes listed in docs/migrating.md ("Switching a
 * file") and runs it on atresolve, and compares. `local` carries what a
 * deployment sets for its environment (here: the local world's CA, routes
 * and DNS server); the code itself is unchanged.
 */
import { verifySignature } from '@atproto/crypto';
import { DidNotFoundError, IdResolver, MemoryCache } from '@atproto/identity';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** Resolver options only this deployment needs (none in production). */
export type LocalOptions = NonNullable<ConstructorParameters<typeof IdResolver>[0]>;

export function createResolver(plcUrl: string, local: LocalOptions): IdResolver {
  const didCache = new MemoryCache(HOUR, DAY);
  return new IdResolver({ plcUrl, didCache, timeout: 3_000, ...local });
}

// Feed generator: the key a service JWT's issuer signs with.
export async function getSigningKey(idResolver: IdResolver, iss: string, forceRefresh: boolean): Promise<string> {
  return idResolver.did.resolveAtprotoKey(iss, forceRefresh);
}

// verifyJwt: check the signature with the cached key, and after a failure
// once more with a fresh one (the key may have rotated).
export async function verifyJwt(idResolver: IdResolver, jwt: string): Promise<string> {
  const [header, payload, sig] = jwt.split('.');
  if (header === undefined || payload === undefined || sig === undefined) throw new Error('poorly formatted jwt');
  const { iss } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss: string };
  const msgBytes = Buffer.from(`${header}.${payload}`, 'utf8');
  const sigBytes = Buffer.from(sig, 'base64url');
  const signingKey = await getSigningKey(idResolver, iss, false);
  let validSig = await verifySignature(signingKey, msgBytes, sigBytes);
  if (!validSig) {
    const freshSigningKey = await getSigningKey(idResolver, iss, true);
    validSig = freshSigningKey !== signingKey ? await verifySignature(freshSigningKey, msgBytes, sigBytes) : false;
  }
  if (!validSig) throw new Error('jwt signature does not match jwt issuer');
  return iss;
}

// AppView: the identity routes.
export async function getIdentityByDid(idResolver: IdResolver, did: string): Promise<unknown> {
  const doc = await idResolver.did.resolve(did);
  return doc === null ? { notFound: did } : doc;
}

export async function getIdentityByHandle(idResolver: IdResolver, handle: string): Promise<unknown> {
  const did = await idResolver.handle.resolve(handle);
  if (!did) return { notFound: handle };
  try {
    return await idResolver.did.ensureResolve(did);
  } catch (err) {
    if (err instanceof DidNotFoundError) return { notFound: did };
    throw err;
  }
}

// AppView: reindex an actor's handle, verified both ways.
export async function indexHandle(idResolver: IdResolver, did: string): Promise<string | null> {
  const atpData = await idResolver.did.resolveAtprotoData(did, true);
  const handleToDid = await idResolver.handle.resolve(atpData.handle);
  return did === handleToDid ? atpData.handle.toLowerCase() : null;
}

// AppView: where an actor's repo lives and which key signs its commits.
export async function repoHost(idResolver: IdResolver, did: string): Promise<{ pds: string; signingKey: string }> {
  const { pds, signingKey } = await idResolver.did.resolveAtprotoData(did);
  return { pds: new URL(pds).origin, signingKey };
}
