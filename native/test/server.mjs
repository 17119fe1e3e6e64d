// Local servers for the native C suite (plain JS, no build step).
//
// Makes a throw-away CA and a server certificate with the openssl CLI in a
// private temp dir, then listens on 127.0.0.1 port 0 with:
//   - an HTTPS server (routes below),
//   - a "blackhole" TCP server that accepts and never speaks (TLS
//     handshakes to it hang, for connect timeouts),
//   - a closed port (bound, then closed: connections are refused).
// Prints one JSON line {port, ca, blackhole, closed} on stdout, and exits
// (removing the temp dir) when stdin closes or on SIGTERM.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import { createServer as createNet } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const dir = mkdtempSync(join(tmpdir(), 'atresolve-native-test-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=atresolve native test CA',
  '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
writeFileSync(join(dir, 'leaf.ext'), [
  'subjectAltName=DNS:localhost,DNS:*.web.test,IP:127.0.0.1,IP:::1',
  'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', '',
].join('\n'));
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.csr'), '-subj', '/CN=localhost');
openssl('x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
  '-set_serial', '1001', '-days', '2', '-extfile', join(dir, 'leaf.ext'), '-out', join(dir, 'leaf.pem'));

let bomb;
const sockets = new Set();
const server = createHttps({ key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) },
  (req, res) => {
    const [, name = '', arg = ''] = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    const n = Number(arg);
    switch (name) {
      case 'status':
        res.writeHead(n).end(`status ${n}`);
        return;
      case 'bytes':
        res.writeHead(200, { 'content-length': String(n), 'x-test': 'yes' }).end(Buffer.alloc(n, 'a'));
        return;
      case 'chunked':
        res.writeHead(200);
        for (let left = n; left > 0; left -= 4096) res.write(Buffer.alloc(Math.min(left, 4096), 'a'));
        res.end();
        return;
      case 'gzip':
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(n, 'a')));
        return;
      case 'gzip-members': // n bytes of 'a' as two gzip members
        res.writeHead(200, { 'content-encoding': 'gzip' })
          .end(Buffer.concat([gzipSync(Buffer.alloc(n >> 1, 'a')), gzipSync(Buffer.alloc(n - (n >> 1), 'a'))]));
        return;
      case 'gzip-junk':
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.concat([gzipSync('ok'), Buffer.from('junk')]));
        return;
      case 'gzip-truncated': { // all but the last n bytes of a gzip body
        const body = gzipSync(Buffer.alloc(1000, 'a'));
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(body.subarray(0, body.length - n));
        return;
      }
      case 'br':
        res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync('ok'));
        return;
      case 'bomb':
        bomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) }).end(bomb);
        return;
      case 'delay': {
        const timer = setTimeout(() => res.end('ok'), n);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'never':
        return;
      case 'big-headers':
        res.writeHead(200, { 'x-big': 'b'.repeat(n) }).end('ok');
        return;
      case 'reset':
        res.writeHead(200, { 'content-length': '100000' });
        res.write(Buffer.alloc(1000, 'a'), () => res.socket?.destroy());
        return;
      case 'echo': {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => res.writeHead(200, { 'x-method': req.method }).end(Buffer.concat(chunks)));
        return;
      }
      default:
        res.writeHead(404).end('not found');
    }
  });
server.keepAliveTimeout = 30_000;
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

const blackhole = createNet((s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => {});
});

const listen = (srv) => new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv.address().port)));
const port = await listen(server);
const hole = await listen(blackhole);
const probe = createNet();
const closed = await listen(probe);
await new Promise((resolve) => probe.close(resolve));

const stop = () => {
  for (const s of sockets) s.destroy();
  server.close();
  blackhole.close();
  cleanup();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.stdout.write(`${JSON.stringify({ port, ca: join(dir, 'ca.pem'), blackhole: hole, closed })}\n`);
