// `node --import ./no-redis.mjs …`: the process behaves as if the redis
// client were not installed. ES module imports of `redis` and `@redis/*`
// fail in the resolve hook (no-redis-hooks.mjs); require() calls fail in
// CommonJS resolution with MODULE_NOT_FOUND, as for a missing package.
// Used by test/cache/redis-entry.test.ts.
import Module, { register } from 'node:module';

register('./no-redis-hooks.mjs', import.meta.url);

const refused = (request) => request === 'redis' || request.startsWith('redis/') || request.startsWith('@redis/');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (refused(request)) {
    const error = new Error(`Cannot find module '${request}' (refused by no-redis.mjs)`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolveFilename.call(this, request, ...rest);
};
