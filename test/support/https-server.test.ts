import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './https-server.js';

function get(server: TestServer, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.origin}${path}`, { ca: server.ca.certPem, servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('test HTTPS server fixture', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('serves TLS with a certificate from its own CA and counts handshakes', async () => {
    const res = await get(server, '/status/204');
    expect(res.status).toBe(204);
    expect(server.handshakes).toBeGreaterThanOrEqual(1);
    expect(server.hits.get('/status/204')).toBe(1);
  });

  it('redirects exactly n times', async () => {
    expect((await get(server, '/redirect/2')).headers['location']).toBe('/redirect/1');
    expect((await get(server, '/redirect/1')).headers['location']).toBe('/status/200');
  });

  it('serves custom routes before built-ins', async () => {
    server.route('/status/201', (_req, res) => res.end('custom'));
    expect((await get(server, '/status/201')).body.toString()).toBe('custom');
  });
});
