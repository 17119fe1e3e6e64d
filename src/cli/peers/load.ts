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
