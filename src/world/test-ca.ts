import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OpensslMissingError } from './errors.js';

const run = promisify(execFile);

/**
 * A throw-away certificate authority generated with the `openssl` CLI into a
 * private temporary directory. Nothing here is ever committed: every test
 * run, soak run and world start makes its own CA and removes it afterwards.
 */
export interface TestCa {
  /** Directory holding the CA's files; removed by `dispose()`. */
  readonly dir: string;
  /** PEM of the CA certificate (trust this in clients). */
  readonly certPem: string;
  /** Path of the CA certificate PEM, for `caFile` options. */
  readonly certFile: string;
  /** Issue a server certificate signed by this CA. */
  issue(options: IssueOptions): Promise<ServerCertificate>;
  /** Remove the CA's directory. Idempotent. */
  dispose(): Promise<void>;
}

export interface IssueOptions {
  /** DNS names for subjectAltName; wildcards like `*.web.test` allowed. */
  dnsNames: readonly string[];
  /** IP addresses for subjectAltName. Default `['127.0.0.1', '::1']`. */
  ips?: readonly string[];
  /** Validity in days from now. Default `2`. */
  days?: number;
  /**
   * An explicit validity window instead of `days`, e.g. one that ended in
   * the past for an expired certificate (issued with `openssl ca`, since
   * openssl 3.0's `x509` cannot set dates). Default none.
   */
  validity?: { notBefore: Date; notAfter: Date };
}

/** A server key pair and certificate chain, ready for `tls.createServer`. */
export interface ServerCertificate {
  /** PEM private key. */
  keyPem: string;
  /** PEM leaf certificate. */
  certPem: string;
  keyFile: string;
  certFile: string;
}

/**
 * Generate a fresh P-256 CA valid for `days` (default 2).
 * @throws OpensslMissingError when the `openssl` CLI is not installed
 * @throws Error when the `openssl` CLI fails
 */
export async function createTestCa(options: { days?: number; commonName?: string } = {}): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'atresolve-ca-'));
  const days = String(options.days ?? 2);
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.pem');
  try {
    await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', days,
      '-subj', `/CN=${options.commonName ?? 'atresolve test CA'}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const certPem = await readFile(certFile, 'utf8');
  let serial = 0;
  let disposed = false;

  return {
    dir,
    certPem,
    certFile,
    async issue(issue: IssueOptions): Promise<ServerCertificate> {
      serial += 1;
      const base = join(dir, `leaf-${serial}`);
      const ips = issue.ips ?? ['127.0.0.1', '::1'];
      const san = [...issue.dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
      await writeFile(`${base}.ext`, [
        `subjectAltName=${san}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'));
      await openssl([
        'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${issue.dnsNames[0] ?? ips[0] ?? 'localhost'}`,
      ]);
      if (issue.validity) {
        await signWithDates(dir, certFile, keyFile, base, 1000 + serial, issue.validity);
      } else {
        await openssl([
          'x509', '-req', '-in', `${base}.csr`, '-CA', certFile, '-CAkey', keyFile,
          '-set_serial', String(1000 + serial), '-days', String(issue.days ?? 2),
          '-extfile', `${base}.ext`, '-out', `${base}.pem`,
        ]);
      }
      return {
        keyPem: await readFile(`${base}.key`, 'utf8'),
        certPem: await readFile(`${base}.pem`, 'utf8'),
        keyFile: `${base}.key`,
        certFile: `${base}.pem`,
      };
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sign `<base>.csr` into `<base>.pem` with an explicit validity window,
 * through `openssl ca` and a throw-away database in the CA directory.
 */
async function signWithDates(
  dir: string,
  certFile: string,
  keyFile: string,
  base: string,
  serial: number,
  validity: { notBefore: Date; notAfter: Date },
): Promise<void> {
  const db = `${base}.db`;
  await writeFile(`${db}.index`, '');
  await writeFile(`${db}.serial`, `${serial.toString(16).padStart(4, '0')}\n`);
  await writeFile(`${db}.cnf`, [
    '[ca]', 'default_ca = leaf', '[leaf]',
    `database = ${db}.index`, `new_certs_dir = ${dir}`, `serial = ${db}.serial`,
    'default_md = sha256', 'policy = any', 'unique_subject = no',
    '[any]', 'commonName = supplied', '',
  ].join('\n'));
  await openssl([
    'ca', '-batch', '-notext', '-config', `${db}.cnf`, '-cert', certFile, '-keyfile', keyFile,
    '-in', `${base}.csr`, '-out', `${base}.pem`, '-extfile', `${base}.ext`,
    '-startdate', opensslDate(validity.notBefore), '-enddate', opensslDate(validity.notAfter),
  ]);
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new OpensslMissingError(
        'the local world makes its test CA with the openssl command-line tool, which is not installed: apt-get install openssl (Alpine: apk add openssl)',
        { cause: error },
      );
    }
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}
