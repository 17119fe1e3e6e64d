/**
 * An error and its `cause`s as a list, for messages that explain a failure
 * all the way down ("resolving … failed: fetching https://plc.directory
 * failed: could not resolve host plc.directory") and for machine-readable
 * error objects. Used by `atresolve resolve` and the soak's error labels.
 */

/** One error of a cause chain. */
export interface CauseLink {
  /** The class name, e.g. `DnsError`. */
  name: string;
  /** The stable `code`, when the error has a short one. */
  code: string | undefined;
  message: string;
  /** The error's own other fields of plain value (e.g. a DnsError's `hostname` and `reason`), when it has any. */
  details?: Record<string, string | number | boolean | null>;
}

/** How far down `cause` is followed. */
const MAX_DEPTH = 8;
const CODE_RE = /^[A-Za-z0-9_]{1,40}$/;
const OWN_KEYS = new Set(['name', 'code', 'message', 'stack', 'cause']);

/** `error` and its causes, outermost first (at most 8; a cycle ends the list). */
export function causeChain(error: unknown): CauseLink[] {
  const links: CauseLink[] = [];
  const seen = new Set<unknown>();
  let current = error;
  while (current !== undefined && current !== null && links.length < MAX_DEPTH && !seen.has(current)) {
    seen.add(current);
    links.push(linkOf(current));
    current = (current as { cause?: unknown }).cause;
  }
  return links;
}

function linkOf(error: unknown): CauseLink {
  const raw = (error as { code?: unknown }).code;
  const code = typeof raw === 'string' && CODE_RE.test(raw) ? raw : undefined;
  if (!(error instanceof Error)) return { name: 'UNKNOWN', code, message: String(error) };
  const link: CauseLink = { name: error.name || 'Error', code, message: error.message };
  const details: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(error)) {
    if (OWN_KEYS.has(key)) continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') details[key] = value;
  }
  if (Object.keys(details).length > 0) link.details = details;
  return link;
}

/**
 * The messages of a chain joined with `: `, leaving out a message that
 * repeats its predecessor (contains it, or is contained in it: a
 * transport's error often wraps the library's message with a prefix).
 */
export function describeChain(chain: readonly CauseLink[]): string {
  const parts: string[] = [];
  for (const link of chain) {
    const previous = parts[parts.length - 1];
    if (link.message === '' || (previous !== undefined && (previous.includes(link.message) || link.message.includes(previous)))) continue;
    parts.push(link.message);
  }
  return parts.join(': ');
}

/** The codes of a chain (class names where there is none) joined with `/`, repeats left out: `RESOLUTION_FAILED/DNS`. */
export function chainLabel(chain: readonly CauseLink[], depth = MAX_DEPTH): string {
  const labels: string[] = [];
  for (const [i, link] of chain.slice(0, depth).entries()) {
    // Below the outermost error only coded errors say something (a wrapped DOMException adds nothing).
    const label = link.code ?? (i === 0 ? link.name.slice(0, 40) : undefined);
    if (label !== undefined && label !== labels[labels.length - 1]) labels.push(label);
  }
  return labels.join('/') || 'UNKNOWN';
}
