/**
 * The catalogue of validation rule ids. Every finding carries one of these ids; docs/manifests.md
 * documents each (a test keeps the two in sync), so operators can look a rule up by its id.
 */
import { compareStrings } from '../domain/recovery-state.js';
import type { Finding, Severity } from '../domain/types.js';

export const RULES = {
  'file.not-a-manifest': 'The file is not under manifests/ or does not end in .yaml/.yml.',
  'file.symlink': 'A symbolic link under manifests/ (in git: mode 120000); links are never followed, so what it points to is not read.',
  'yaml.too-large': 'The file is larger than the size limit (default 1 MiB); it is refused before parsing.',
  'yaml.binary': 'The file contains NUL bytes or other binary content.',
  'yaml.invalid-utf8': 'The file is not valid UTF-8 text.',
  'yaml.too-deep': 'Collections are nested deeper than the limit (default 64).',
  'yaml.too-many-documents': 'The file holds more documents than the limit (default 100).',
  'yaml.alias-limit': 'Aliases expand to more nodes than the limit (default 100): a possible alias bomb.',
  'yaml.duplicate-key': 'A mapping has the same key twice.',
  'yaml.tag': 'An explicit or custom tag (e.g. `!!js/function`, `!foo`, `!!binary`) is used; only plain YAML is accepted.',
  'yaml.unsafe-key': 'A key is `__proto__`, `constructor` or `prototype`.',
  'yaml.version': 'A `%YAML` directive asks for a version other than 1.2.',
  'yaml.directive': 'An unknown or malformed directive.',
  'yaml.syntax': 'The YAML cannot be parsed.',
  'manifest.not-an-object': 'The document is not a mapping.',
  'manifest.kind': 'The document has no `kind` or one that is not a cavra-gitops kind.',
  'schema.required': 'A required field is missing.',
  'schema.additional-properties': 'A field is not part of the schema (misspelt or misplaced).',
  'schema.type': 'A field has the wrong type.',
  'schema.enum': 'A field is not one of the allowed values.',
  'schema.const': 'A field must have one exact value (`apiVersion`, `kind`, providers `all`).',
  'schema.pattern': 'A field does not have the required format (names, env var names, times, ids).',
  'schema.format': 'A date-time is not a valid RFC 3339 time.',
  'schema.min-length': 'A string is empty or too short.',
  'schema.max-length': 'A string is too long.',
  'schema.minimum': 'A number is below its minimum.',
  'schema.maximum': 'A number is above its maximum.',
  'schema.min-items': 'A list has too few items.',
  'schema.max-items': 'A list has too many items.',
  'schema.unique-items': 'A list has duplicate items.',
  'schema.max-properties': 'A map has too many entries.',
  'schema.property-names': 'A map key has an invalid format.',
  'schema.any-of': 'A field matches none of its allowed shapes (e.g. providers: a list of names or `all`).',
  'schema.invalid': 'Any other schema violation.',
  'secret.private-key': 'A PEM private key.',
  'secret.aws-key': 'An AWS access key id (`AKIA…`/`ASIA…`) or secret access key.',
  'secret.gcp-key': 'A Google Cloud API key (`AIza…`) or service-account key.',
  'secret.azure-key': 'An Azure storage account key or SAS signature.',
  'secret.token': 'A token with a well-known prefix (`ghp_`, `github_pat_`, `xoxb-`, `sk_live_`, `whsec_`, `glpat-`, …).',
  'secret.jwt': 'A JSON Web Token.',
  'secret.webhook-url': 'A Slack, Teams or Discord incoming-webhook URL (the URL is the credential).',
  'secret.url-credentials': 'A URL with a user name or password in it.',
  'secret.url-query-token': 'A URL whose query carries a token, key, signature or password.',
  'secret.high-entropy': 'A random-looking value under a secret-like key (`password`, `token`, `secret`, `api_key`, …).',
  'host.private': 'A public field points at a loopback, private, link-local or internal host.',
  'ref.duplicate-name': 'Two manifests of the same kind have the same name.',
  'ref.delivery': 'The `delivery` does not name an AuditDelivery (that is valid).',
  'ref.provider': 'A provider name does not name a Provider (that is valid).',
  'ref.provider-not-selected': 'The provider is not selected by the referenced AuditDelivery.',
  'ref.playbook': 'The `playbook_id` does not name a playbook record (checked when records are available).',
  'ref.playbook-provider': 'The provider is not part of the referenced playbook (checked when records are available).',
  'ref.verification': 'A `verification_refs` entry does not name a record (checked when records are available).',
  'policy.name': 'The ReconcilerPolicy is not named `default` (it is a singleton).',
  'policy.freeze-cron': 'A recurring freeze window has a cron expression that does not parse (5 fields, UTC).',
  'policy.freeze-window': 'A fixed freeze window does not end after it starts (`to` <= `from`).',
  'approval.emergency-expiry': 'A break-glass approval (`emergency: true`) has no `expires_at`, or one later than `max_emergency_minutes` after its commit.',
  'closure.already-recorded': 'A RecoveryClosure that was already recorded has changed since (a closure is recorded once; use a new name).',
  'provider.url-env-required': 'An HTTP provider type has no `url_env`.',
  'provider.file-directory-absolute':
    'A `file` provider\'s `options.directory` is an absolute path; it must be relative to the file root (`--file-root`).',
  'provider.file-directory-escapes':
    'A `file` provider\'s `options.directory` climbs out of the file root with `..`.',
  'provider.basic-auth-account':
    'A jira provider without `options.email`, or a servicenow provider without `options.username`, uses basic authentication (the default).',
  'provider.auth': 'A jira or servicenow provider\'s `options.auth` is neither `basic` nor `bearer`.',
  'time.commit-time-unknown': 'A commit-time default could not be computed (working tree); the epoch is used (warning).',
} as const;

export type RuleId = keyof typeof RULES;

/** Build a finding with the defaults most rules share (error severity, empty kind/name/path). */
export function makeFinding(
  fields: Pick<Finding, 'file' | 'line' | 'column' | 'message'> & {
    rule: RuleId;
    kind?: string;
    name?: string;
    path?: string;
    severity?: Severity;
  },
): Finding {
  return {
    file: fields.file,
    line: fields.line,
    column: fields.column,
    kind: fields.kind ?? '',
    name: fields.name ?? '',
    path: fields.path ?? '',
    message: fields.message,
    rule: fields.rule,
    severity: fields.severity ?? 'error',
  };
}

/** Deterministic order: file, line, column, rule, then path and message. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareStrings(a.file, b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    compareStrings(a.rule, b.rule) ||
    compareStrings(a.path, b.path) ||
    compareStrings(a.message, b.message)
  );
}
