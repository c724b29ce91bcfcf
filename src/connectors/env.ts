/**
 * Credentials and endpoints come only from the env vars a Provider names (`url_env`, `token_env`,
 * `signing_secret_env`, and `*_env` options such as sentinel's `authority_url_env`). This module
 * reads them with errors that name the provider and the variable, never its value, and lists
 * every value a provider uses so errors can be redacted.
 */
import type { Env } from '../domain/ports.js';
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import type { Provider } from '../domain/types.js';
import { ConnectorError } from '../errors.js';
import { expandSecret } from '../redact.js';

export type ProviderEnvField = 'url_env' | 'token_env' | 'signing_secret_env';

export interface ReadProviderEnvOptions {
  /** True when the Provider must name this field (e.g. `url_env` for HTTP types). */
  required: boolean;
}

/**
 * The value of the env var that `provider.spec[field]` names.
 *
 * - The field is not set: `ConnectorError` when `required`, else `undefined`.
 * - The field names a variable that is unset or empty: always `ConnectorError`, because an
 *   operator who names a variable expects it to be used (an unset signing secret must not
 *   silently send unsigned webhooks).
 * - `url_env` values must be absolute http(s) URLs.
 *
 * Messages name the provider and the variable, never the value.
 */
export function readProviderEnv(
  provider: Provider,
  field: ProviderEnvField,
  env: Env,
  options: { required: true },
): string;
export function readProviderEnv(
  provider: Provider,
  field: ProviderEnvField,
  env: Env,
  options: ReadProviderEnvOptions,
): string | undefined;
export function readProviderEnv(
  provider: Provider,
  field: ProviderEnvField,
  env: Env,
  options: ReadProviderEnvOptions,
): string | undefined {
  const name = provider.spec[field];
  const where = describeProvider(provider);
  if (name === null || name === '') {
    if (!options.required) return undefined;
    throw new ConnectorError(
      `${where} has no spec.${field}; ${withIndefiniteArticle(provider.spec.type)} provider needs it: set spec.${field} to the name of the env var that holds the value.`,
      { reason: 'ConfigurationInvalid' },
    );
  }
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConnectorError(
      `${where} names env var ${name} in spec.${field}, but ${name} is not set in the reconciler's environment; export it (or remove spec.${field}).`,
      { reason: 'EnvVarMissing' },
    );
  }
  if (field === 'url_env' && !isHttpUrl(value)) {
    throw new ConnectorError(
      `${where}: env var ${name} (spec.url_env) does not hold an absolute http(s) URL; set it to the endpoint, e.g. https://host/path.`,
      { reason: 'EnvVarInvalid' },
    );
  }
  return value;
}

/**
 * The value of an env var named by a provider option ending in `_env` (e.g. `authority_url_env`),
 * or `undefined` when the option is not set. A named but unset variable is a `ConnectorError`.
 */
export function readProviderOptionEnv(provider: Provider, option: string, env: Env): string | undefined {
  const name = provider.spec.options[option];
  if (name === undefined || name === '') return undefined;
  if (typeof name !== 'string') {
    throw new ConnectorError(
      `${describeProvider(provider)}: spec.options.${option} must be the name of an env var (a string).`,
      { reason: 'ConfigurationInvalid' },
    );
  }
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConnectorError(
      `${describeProvider(provider)} names env var ${name} in spec.options.${option}, but ${name} is not set in the reconciler's environment; export it (or remove the option).`,
      { reason: 'EnvVarMissing' },
    );
  }
  return value;
}

/**
 * Every secret value this provider uses, for redaction: the contents of the env vars it names
 * (fields and `*_env` options), each with the parts that are secret on their own (`expandSecret`:
 * userinfo, query values, the path and its token-like segments — Slack/Teams webhook paths are
 * the credential — and the body of a `whsec_` secret). Unset variables are skipped. Encoded and
 * re-cased echoes of these are caught by `redactText` itself.
 */
export function secretsOf(provider: Provider, env: Env): string[] {
  const names: string[] = [];
  for (const field of ['url_env', 'token_env', 'signing_secret_env'] as const) {
    const name = provider.spec[field];
    if (name) names.push(name);
  }
  for (const [key, value] of Object.entries(provider.spec.options)) {
    if (key.endsWith('_env') && typeof value === 'string' && value) names.push(value);
  }
  const secrets = new Set<string>();
  for (const name of names) {
    const value = env[name];
    if (!value) continue;
    for (const piece of expandSecret(value)) secrets.add(piece);
  }
  // Longest first, so a whole URL is replaced before one of its parts would split it.
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** `provider "name" (type)`, the way every connector error names its provider. */
export function describeProvider(provider: Provider): string {
  return `provider "${provider.name}" (${provider.spec.type})`;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
