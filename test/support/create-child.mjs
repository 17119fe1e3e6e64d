// Child process for test/transport/create.test.ts: create a transport the
// way a consumer would (createTransport from the compiled package's
// `atresolve/transport`), make one request (then create a second transport),
// and print what happened as one JSON line; process warnings go to stderr as
// usual. Environment: ATRESOLVE_TEST_DIST (dist/index.js), TEST_URL, TEST_CA,
// and whatever ATRESOLVE_* variables the test sets.
import { pathToFileURL } from 'node:url';

const { createTransport, transportInfo } = await import(new URL('./transport/index.js', pathToFileURL(process.env.ATRESOLVE_TEST_DIST)).href);

const out = {};
try {
  out.info = transportInfo();
  const transport = createTransport({ caFile: process.env.TEST_CA, allowPrivateNetwork: true });
  out.kind = transport.kind;
  const response = await transport.request(process.env.TEST_URL);
  out.status = response.status;
  await transport.close();
  // A second transport: a fallback warning must not repeat.
  await createTransport({ caFile: process.env.TEST_CA, allowPrivateNetwork: true }).close();
} catch (error) {
  out.error = { name: error.name, code: error.code, message: error.message };
}
console.log(JSON.stringify(out));
