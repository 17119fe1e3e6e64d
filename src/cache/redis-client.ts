import { createRequire } from 'node:module';
import type * as Redis from 'redis';
import { RedisClientMissingError } from './errors.js';

/**
 * The `redis` client (node-redis), an optional peer dependency, loaded once
 * when `atresolve/redis` is evaluated. node-redis is CommonJS, so a
 * synchronous `require` keeps this module free of top-level await (and so
 * loadable with `require()` where Node supports it).
 *
 * @throws RedisClientMissingError, saying `npm i redis`, when it cannot be loaded
 */
function loadRedisClient(): Pick<typeof Redis, 'createClient' | 'createCluster'> {
  try {
    return createRequire(import.meta.url)('redis') as typeof Redis;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'MODULE_NOT_FOUND' ? 'it is not installed' : `it failed to load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
    throw new RedisClientMissingError(`atresolve/redis needs the redis client (an optional peer dependency), but ${why}: npm i redis`, { cause: error });
  }
}

export const { createClient, createCluster } = loadRedisClient();
