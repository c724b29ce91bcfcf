/**
 * What a Provider's public `spec.options` mean where two layers must agree on them: the
 * validation rules (src/manifests/semantic-rules.ts) and the connectors that act on them
 * (src/connectors/). One pure definition here, so a manifest that validates clean is one the
 * connector accepts, and a manifest the connector would refuse is a finding first.
 */
import type { Provider, ProviderType } from './types.js';

// ---------------------------------------------------------------------------------------------
// `file` provider: `options.directory`, confined to the file root
// ---------------------------------------------------------------------------------------------

/**
 * `options.directory` of a `file` provider, checked without touching the disk:
 * - `ok`: the path segments below the file root (`.` and empty segments dropped, `..` applied);
 *   `[]` means the root itself;
 * - `missing`: not set, or not a non-empty string;
 * - `absolute`: `/srv/x`, `C:\x`, `\\server\share` — a manifest cannot know where the root is;
 * - `escapes`: `..` climbs above the root (`../x`, `a/../../x`).
 * `\` counts as a separator too: `..\..\x` must not slip through on any platform.
 */
export type FileDirectory =
  { ok: true; segments: string[] } | { ok: false; problem: 'missing' | 'absolute' | 'escapes' };

export function parseFileDirectory(option: unknown): FileDirectory {
  if (typeof option !== 'string' || option.trim() === '') return { ok: false, problem: 'missing' };
  if (/^[/\\]/.test(option) || /^[A-Za-z]:/.test(option)) return { ok: false, problem: 'absolute' };
  const segments: string[] = [];
  for (const segment of option.split(/[/\\]+/)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return { ok: false, problem: 'escapes' };
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return { ok: true, segments };
}

// ---------------------------------------------------------------------------------------------
// jira / servicenow: basic or bearer authentication
// ---------------------------------------------------------------------------------------------

/** Provider types whose `options.auth` chooses between HTTP Basic (the default) and a bearer token. */
export type BasicAuthProviderType = Extract<ProviderType, 'jira' | 'servicenow'>;

/**
 * The options that name the account of HTTP Basic authentication, in the order they are read:
 * Jira Cloud pairs the API token with the Atlassian account email (`user` is accepted for Jira
 * Data Center set-ups that name a user), ServiceNow pairs the password with the integration user.
 */
export const BASIC_AUTH_ACCOUNT_OPTIONS: Readonly<Record<BasicAuthProviderType, readonly string[]>> = {
  jira: ['email', 'user'],
  servicenow: ['username'],
};

export function isBasicAuthProviderType(type: ProviderType): type is BasicAuthProviderType {
  return type === 'jira' || type === 'servicenow';
}

/** `options.auth`: `basic` when absent; null when it is neither `basic` nor `bearer`. */
export function readAuthMode(provider: Provider): 'basic' | 'bearer' | null {
  const auth = provider.spec.options.auth ?? 'basic';
  return auth === 'basic' || auth === 'bearer' ? auth : null;
}

/** The account of HTTP Basic authentication, or null when none of its options holds a non-empty string. */
export function readBasicAuthAccount(provider: Provider): string | null {
  if (!isBasicAuthProviderType(provider.spec.type)) return null;
  for (const option of BASIC_AUTH_ACCOUNT_OPTIONS[provider.spec.type]) {
    const value = provider.spec.options[option];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}
