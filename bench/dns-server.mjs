#!/usr/bin/env node
// A DNS server for the benchmarks, as a child process (so its CPU is not
// counted in the measured process): every name answers A 127.0.0.1 (TTL
// 300, no AAAA) at once, except names whose first label starts with `dead`,
// which are never answered (a domain whose nameserver is gone).
// Prints one JSON line {address} on stdout; exits when stdin closes.
//
// Usage: node bench/dns-server.mjs [host] [port]   (default 127.0.0.1 0)
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 0);
const socket = createSocket('udp4');
socket.on('message', (message, remote) => {
  let query;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return;
  }
  const question = query.questions?.[0];
  if (!question || question.name.toLowerCase().startsWith('dead')) return;
  const answers = question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 300, class: 'IN', data: '127.0.0.1' }] : [];
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;
  socket.send(dnsPacket.encode({ type: 'response', id: query.id, flags, questions: [question], answers }), remote.port, remote.address);
});
// Enough buffer for a burst of hundreds of queries.
socket.bind({ port, address: host });
await once(socket, 'listening');
socket.setRecvBufferSize(4 * 1024 * 1024);
console.log(JSON.stringify({ address: `${host}:${socket.address().port}` }));
process.stdin.on('end', () => socket.close());
process.stdin.resume();
