/**
 * The local world (`atresolve/world`): an imitation of the atproto identity
 * network on loopback for tests, benchmarks and `atresolve soak`. A tool,
 * not library API, so it has its own package subpath.
 *
 * This module only re-exports; every name is documented where it is defined.
 */
export { startWorld, World } from './world.js';
export { startWorldProcess, WorldProcess, defaultChildPath, type WorldProcessOptions } from './process.js';
export { WorldView, type WorldEndpoints } from './endpoints.js';
export { resolveWorldOptions, type WorldOptions, type ResolvedWorldOptions } from './options.js';
export {
  ENDPOINT_KINDS,
  FAULT_NAMES,
  HTTPS_ONLY_FAULTS,
  FaultPlan,
  resolveFaults,
  type EndpointKind,
  type FaultMix,
  type FaultName,
  type FaultSettings,
  type ResolvedFaults,
} from './faults.js';
export { totalFaults, type ConnectionCounters, type KindCounters, type WorldCounters } from './counters.js';
export {
  HANDLE_DOMAIN,
  IdentityScheme,
  PDS_ENDPOINT,
  PLC_HOST,
  WEB_DOMAIN,
  plcIdentifier,
  type IdentitySchemeSettings,
  type WorldDidMethod,
  type WorldIdentity,
} from './identities.js';
export { KeyPool, secp256k1KeyFromPrivate, secp256k1Multikey, type WorldKey } from './keys.js';
export { didDocument } from './documents.js';
export { OpensslMissingError, UnknownIdentityError, WorldClosedError, WorldError, WorldProcessError } from './errors.js';
export { createTestCa, type IssueOptions, type ServerCertificate, type TestCa } from './test-ca.js';
