// `node --import ./no-redis.mjs …`: the process fails on any import of the
// redis client (see no-redis-hooks.mjs). Used by test/cache/redis-entry.test.ts.
import { register } from 'node:module';

register('./no-redis-hooks.mjs', import.meta.url);
