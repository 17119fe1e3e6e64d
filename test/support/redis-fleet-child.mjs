// One resolver process of a fleet sharing one Redis, fork()ed by
// test/cache/redis-fleet.test.ts. It imports the compiled package the way a
// consumer would (ATRESOLVE_TEST_DIST = dist/index.js, and dist/redis.js for
// `atresolve/redis`), builds an IdResolver on a RedisCache pointed at the
// world and the Redis in FLEET_CONFIG (JSON), and answers commands over IPC:
//   { id, op: 'resolve', inputs, concurrency } -> { id, results: [{ input, did, handle } | { input, error }] }
//   { id, op: 'resolveDid', did }               -> { id, did, cache }   (cache outcome of the DID lookup)
//   { id, op: 'purge', key }                    -> { id, ok } | { id, error }
//   { id, op: 'stats' }                         -> { id, redis, cache }
//   { id, op: 'close' }                         -> { id, ok }, then exits
// It exits when the IPC channel closes (the test process ended).
import { pathToFileURL } from 'node:url';

const dist = process.env.ATRESOLVE_TEST_DIST;
const { IdResolver } = await import(pathToFileURL(dist).href);
const { RedisCache } = await import(new URL('./redis.js', pathToFileURL(dist)).href);
const config = JSON.parse(process.env.FLEET_CONFIG);

const redisCache = new RedisCache({ url: config.redisUrl, keyPrefix: config.keyPrefix, ...config.redisOptions });
const resolver = new IdResolver({
  plcUrl: config.world.plcUrl,
  allowTestTlds: true,
  dns: { nameservers: [config.world.dnsServer], tries: 1 },
  transport: { caFile: config.world.caFile, connectTo: config.world.connectTo, allowPrivateNetwork: true },
  cache: redisCache.identityCacheOptions(),
});

let lastDidOutcome;
resolver.addResolutionListener((event) => {
  if (event.method === 'plc' || event.method === 'web') lastDidOutcome = event.cache;
});

function describeError(error) {
  return { name: error?.name, code: error?.code, message: String(error?.message ?? error) };
}

async function resolveAll(inputs, concurrency) {
  const results = new Array(inputs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      while (next < inputs.length) {
        const i = next++;
        try {
          const identity = await resolver.resolveIdentity(inputs[i]);
          results[i] = { input: inputs[i], did: identity.did, handle: identity.handle };
        } catch (error) {
          results[i] = { input: inputs[i], error: describeError(error) };
        }
      }
    }),
  );
  return results;
}

async function handle(message) {
  switch (message.op) {
    case 'resolve':
      return { results: await resolveAll(message.inputs, message.concurrency ?? 4) };
    case 'resolveDid': {
      const doc = await resolver.did.resolve(message.did);
      return { did: doc?.id ?? null, cache: lastDidOutcome };
    }
    case 'purge':
      await resolver.purge(message.key);
      return { ok: true };
    case 'stats':
      return { redis: redisCache.stats(), cache: resolver.stats().cache };
    case 'close':
      await resolver.close();
      return { ok: true };
    default:
      throw new Error(`unknown op ${message.op}`);
  }
}

process.on('message', (message) => {
  handle(message).then(
    (reply) => {
      process.send({ id: message.id, ...reply });
      if (message.op === 'close') process.disconnect();
    },
    (error) => process.send({ id: message.id, error: describeError(error) }),
  );
});
process.on('disconnect', () => process.exit(0));

await redisCache.ready();
process.send({ ready: true });
