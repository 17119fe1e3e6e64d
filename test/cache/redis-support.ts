import { randomBytes } from 'node:crypto';
import { redisSkipReason } from '../support/redis-server.mjs';

/**
 * Shared bits of the Redis cache tests. The tests run against real
 * redis-server processes they start themselves (test/support/redis-server.mjs);
 * they are skipped, with the reason printed, only when redis-server is not
 * installed.
 */
export const redisSkip: string | undefined = redisSkipReason();
if (redisSkip !== undefined) console.log(`[redis tests skipped] ${redisSkip}`);

/** A key prefix no other test (or concurrent run) uses. */
export function uniquePrefix(): string {
  return `t${process.pid}-${randomBytes(4).toString('hex')}:`;
}
