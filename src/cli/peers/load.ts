import { createRequire } from 'node:module';
import { MissingPeerError } from '../errors.js';

/**
 * Import a dev-only peer package by name, turning "not installed" into a
 * `MissingPeerError` whose message says how to add it. Peers are never
 * runtime dependencies of atresolve: they are only needed to compare.
 */
export async function importPeer<T>(packageName: string, install: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerError(packageName, `${packageName} is not installed; add it with: ${install}`, { cause: error });
    }
    throw error;
  }
}

/** The fields of a peer's package.json the peers read. */
export interface PeerManifest {
  version: string;
  engines?: { node?: string };
}

/**
 * The package.json of the package whose entry point is `entryPath`
 * (a path `require.resolve` gave), read from beside its entry point's
 * folder (`dist/index.js` → `package.json`), as both `@atproto/identity`
 * versions lay out.
 */
export function peerManifest(entryPath: string): PeerManifest {
  return createRequire(entryPath)('../package.json') as PeerManifest;
}

/** The major version of the Node running this process. */
export function nodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}
