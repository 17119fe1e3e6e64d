// Module resolution hooks (registered by no-redis.mjs) that refuse the
// `redis` client and its `@redis/*` packages, so a process can prove it
// never loads them.
export async function resolve(specifier, context, next) {
  if (specifier === 'redis' || specifier.startsWith('redis/') || specifier.startsWith('@redis/')) {
    throw new Error(`refused to load '${specifier}'`);
  }
  return next(specifier, context);
}
