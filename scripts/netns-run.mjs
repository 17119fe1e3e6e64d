#!/usr/bin/env node
// Run a command inside a throw-away "internet": a new user + network +
// mount namespace (`unshare`, no root needed where unprivileged user
// namespaces are allowed) whose only interface is `lo`, with
//   - 1.2.3.4, 1.2.3.5 and 2600::1 on `lo`: addresses the SSRF guard
//     classifies as public, so a hostile "public" server can exist without
//     any real network (nothing leaves the namespace: it has no route out);
//   - 10.1.2.3, 169.254.169.254 and fd00::1 on `lo`: private, link-local and
//     ULA addresses where tests put sentinel servers that count connections;
//   - /etc/resolv.conf bind-mounted (in this namespace only) to
//     `nameserver 127.0.0.1`, so the system resolver (getaddrinfo: libcurl's
//     threaded resolver, Node's dns.lookup, c-ares' defaults) asks the
//     scripted DNS server a test binds to 127.0.0.1:53.
// This is how the hostile suite exercises real DNS answers (A/AAAA pointing
// at forbidden addresses, rebinding) through the transports' real name
// resolution, instead of a test hook.
//
// Usage: node scripts/netns-run.mjs <command> [args...]
// The command sees ATRESOLVE_NETNS=1. When namespaces are unavailable the
// script says so and exits 0, unless ATRESOLVE_REQUIRE_NETNS=1, then 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const command = process.argv.slice(2);
if (command.length === 0) {
  console.error('usage: netns-run.mjs <command> [args...]');
  process.exit(2);
}

const probe = spawnSync('unshare', ['--user', '--map-root-user', '--net', '--mount', 'ip', 'link', 'set', 'lo', 'up'], {
  encoding: 'utf8',
});
if (probe.status !== 0) {
  const why = (probe.error?.message ?? probe.stderr ?? '').trim() || `exit ${probe.status}`;
  const required = process.env.ATRESOLVE_REQUIRE_NETNS === '1';
  console.error(
    `netns-run: cannot create a user + network namespace (${why}); ` +
      `the network-namespace tests ${required ? 'are required (ATRESOLVE_REQUIRE_NETNS=1)' : 'are skipped'}. ` +
      'They need unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) and iproute2.',
  );
  process.exit(required ? 1 : 0);
}

const dir = mkdtempSync(join(tmpdir(), 'atresolve-netns-'));
const resolv = join(dir, 'resolv.conf');
writeFileSync(resolv, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
const setup = [
  'set -e',
  'ip link set lo up',
  'for a in 1.2.3.4 1.2.3.5 10.1.2.3 169.254.169.254; do ip addr add "$a/32" dev lo; done',
  'for a in 2600::1 fd00::1; do ip -6 addr add "$a/128" dev lo nodad; done',
  `mount --bind '${resolv}' /etc/resolv.conf`,
  'export ATRESOLVE_NETNS=1',
  'exec "$@"',
].join('\n');
const result = spawnSync('unshare', ['--user', '--map-root-user', '--net', '--mount', 'sh', '-c', setup, 'netns-run', ...command], {
  stdio: 'inherit',
});
rmSync(dir, { recursive: true, force: true });
if (result.error) {
  console.error(`netns-run: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
