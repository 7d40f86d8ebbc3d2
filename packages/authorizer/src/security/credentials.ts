/** A named client credential (SPEC §6): the name goes into logs, metrics and the audit trail; the secret never does. */
export interface Credential {
  readonly name: string;
  readonly secret: string;
}

/** Shortest accepted secret. */
export const MIN_SECRET_CHARS = 16;

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Secrets that appear in this repository's examples (deploy/, docker-compose, README). A deployment that copied one
 * would be open to anyone who read the examples, so start-up refuses them.
 */
const PLACEHOLDER = /replace[-_ ]?me|change[-_ ]?me|placeholder|your[-_]?(token|secret)|^x+$/i;

/**
 * Splits a credential variable into its entries: comma-separated, trimmed, empty entries dropped. A variable that is
 * set but yields no entry (`","`, `" , "`) is reported by {@link credentialProblems}, never taken as "no auth".
 */
export function credentialEntries(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/**
 * Reads one entry: `name:secret`, or a bare secret (then named `<scope>-<position>`, for older configurations).
 * The name is 1–64 characters of `[A-Za-z0-9._-]`.
 */
export function parseCredential(entry: string, fallbackName: string): Credential {
  const separator = entry.indexOf(':');
  if (separator > 0) {
    const name = entry.slice(0, separator);
    if (NAME.test(name)) return { name, secret: entry.slice(separator + 1) };
  }
  return { name: fallbackName, secret: entry };
}

/** The credentials of one scope; call {@link credentialProblems} first (start-up does, in `loadConfig`). */
export function parseCredentials(scope: string, entries: readonly string[]): Credential[] {
  return entries.map((entry, i) => parseCredential(entry, `${scope}-${String(i + 1)}`));
}

/**
 * What is wrong with a credential variable's raw value, one line per problem; empty when it is unset or usable.
 * Set-but-empty, separators only, a short secret, a placeholder from the examples and a name used twice are refused.
 */
export function credentialProblems(key: string, raw: string | undefined, scope: string): string[] {
  if (raw === undefined) return [];
  const entries = credentialEntries(raw);
  if (entries.length === 0) {
    return [`  ${key}: is set but holds no credential (unset it for no authentication, or give name:secret entries)`];
  }
  const problems: string[] = [];
  const names = new Set<string>();
  for (const credential of parseCredentials(scope, entries)) {
    if (credential.secret.length < MIN_SECRET_CHARS) {
      problems.push(`  ${key}: the secret of "${credential.name}" must be at least ${String(MIN_SECRET_CHARS)} characters`);
    }
    if (PLACEHOLDER.test(credential.secret)) {
      problems.push(`  ${key}: the secret of "${credential.name}" is a placeholder from the examples; generate one`);
    }
    if (names.has(credential.name)) problems.push(`  ${key}: the name "${credential.name}" is used twice`);
    names.add(credential.name);
  }
  return problems;
}
