/**
 * Semantic rules: what a schema cannot say. Per-document rules (policy name, `url_env` for HTTP
 * providers) and rules across documents (unique names, references between kinds, and — when the
 * records of the revision are available — playbooks and verification refs of closures).
 * Pure: manifests in, rule violations out.
 */
import { emergencyDeadline } from '../domain/approval-rules.js';
import { checkClosureReferences, type ClosureTargets } from '../domain/closures.js';
import { DEFAULT_POLICY_SPEC, POLICY_NAME, isHttpProviderType } from '../domain/defaults.js';
import { isRecurringWindow, parseCron } from '../domain/freeze-windows.js';
import {
  BASIC_AUTH_ACCOUNT_OPTIONS,
  isBasicAuthProviderType,
  parseFileDirectory,
  readAuthMode,
  readBasicAuthAccount,
} from '../domain/provider-options.js';
import type {
  AuditDelivery,
  Manifest,
  ManifestKind,
  Provider,
  ReconcilerPolicySpec,
  RetryApproval,
} from '../domain/types.js';
import type { RuleId } from './rules.js';

/** Lets reference rules see records (closures): each playbook's providers and every record id. */

/** A rule violation inside one manifest; the caller locates `segments` and builds the finding. */
export interface Violation {
  rule: RuleId;
  segments: (string | number)[];
  message: string;
}

/** Rules that look at one manifest alone. */
export function checkManifestRules(manifest: Manifest): Violation[] {
  const violations: Violation[] = [];
  if (manifest.kind === 'ReconcilerPolicy' && manifest.name !== POLICY_NAME) {
    violations.push({
      rule: 'policy.name',
      segments: ['metadata', 'name'],
      message: `The ReconcilerPolicy is a singleton and must be named "${POLICY_NAME}"; rename it.`,
    });
  }
  if (manifest.kind === 'Provider' && isHttpProviderType(manifest.spec.type) && manifest.spec.url_env === null) {
    violations.push({
      rule: 'provider.url-env-required',
      segments: ['spec', 'type'],
      message: `A ${manifest.spec.type} provider needs \`spec.url_env\`: the name of the environment variable that holds its endpoint URL.`,
    });
  }
  if (manifest.kind === 'ReconcilerPolicy') violations.push(...checkFreezeWindows(manifest.spec));
  if (manifest.kind === 'Provider') violations.push(...checkProviderOptions(manifest));
  return violations;
}

/**
 * Options a connector would refuse at run time, reported now (the definitions are shared with the
 * connectors, domain/provider-options.ts): a `file` directory that is absolute or climbs out of
 * the file root; jira/servicenow basic auth without its account, or an unknown `auth`.
 */
function checkProviderOptions(provider: Provider): Violation[] {
  const violations: Violation[] = [];
  const { type, options } = provider.spec;
  if (type === 'file') {
    const directory = parseFileDirectory(options.directory);
    const at = options.directory === undefined ? ['spec', 'type'] : ['spec', 'options', 'directory'];
    if (!directory.ok) {
      switch (directory.problem) {
        case 'missing':
          // Left to the connector (a NotReady provider at run time): minimal file providers
          // without options are common in examples and tests, and write nowhere.
          break;
        case 'absolute':
          violations.push({
            rule: 'provider.file-directory-absolute',
            segments: at,
            message:
              '`spec.options.directory` is an absolute path, but file providers write only under the reconciler\'s file root (--file-root); make it a path relative to that root, e.g. `directory: outbox`.',
          });
          break;
        case 'escapes':
          violations.push({
            rule: 'provider.file-directory-escapes',
            segments: at,
            message:
              '`spec.options.directory` climbs out of the reconciler\'s file root (--file-root) with `..`; file providers write only under that root, so remove the `..` segments.',
          });
          break;
      }
    }
  }
  if (isBasicAuthProviderType(type)) {
    const auth = readAuthMode(provider);
    const [account] = BASIC_AUTH_ACCOUNT_OPTIONS[type];
    if (auth === null) {
      violations.push({
        rule: 'provider.auth',
        segments: ['spec', 'options', 'auth'],
        message: `\`spec.options.auth\` must be \`basic\` (the default: ${account} plus the secret in token_env) or \`bearer\` (a token in token_env).`,
      });
    } else if (auth === 'basic' && readBasicAuthAccount(provider) === null) {
      const what =
        type === 'jira'
          ? 'the Atlassian account email that owns the API token'
          : 'the integration user whose password is in the env var named by token_env';
      violations.push({
        rule: 'provider.basic-auth-account',
        segments: options.auth === undefined ? ['spec', 'type'] : ['spec', 'options', 'auth'],
        message: `A ${type} provider with basic authentication (the default) needs \`spec.options.${account}\`: ${what}; set it, or set \`spec.options.auth: bearer\` to send the token as a bearer token.`,
      });
    }
  }
  return violations;
}

/** Each recurring window's cron parses; each fixed window ends after it starts. */
function checkFreezeWindows(spec: ReconcilerPolicySpec): Violation[] {
  const violations: Violation[] = [];
  spec.freeze_windows.forEach((window, index) => {
    if (isRecurringWindow(window)) {
      const parsed = parseCron(window.cron);
      if (!parsed.ok) {
        violations.push({
          rule: 'policy.freeze-cron',
          segments: ['spec', 'freeze_windows', index, 'cron'],
          message: `This cron expression cannot be parsed (${parsed.message}); write 5 fields, minute hour day-of-month month day-of-week, in UTC, e.g. "0 18 * * 5".`,
        });
      }
    } else if (!(Date.parse(window.from) < Date.parse(window.to))) {
      violations.push({
        rule: 'policy.freeze-window',
        segments: ['spec', 'freeze_windows', index, 'to'],
        message: `The window ends (${window.to}) no later than it starts (${window.from}); \`to\` must be after \`from\`.`,
      });
    }
  });
  return violations;
}

/**
 * A break-glass approval (`emergency: true`) must carry `expires_at`, at most the policy's
 * `max_emergency_minutes` after the time of its commit. In the working tree the commit is not
 * known yet, so only the presence of `expires_at` is checked there.
 */
function checkEmergencyApproval(approval: RetryApproval, policy: ReconcilerPolicySpec): Violation[] {
  const { spec } = approval;
  if (!spec.emergency) return [];
  const limit = policy.max_emergency_minutes;
  if (spec.expires_at === null) {
    return [
      {
        rule: 'approval.emergency-expiry',
        segments: ['spec', 'emergency'],
        message: `A break-glass approval (emergency: true) must carry \`expires_at\`, at most ${limit} minutes (the policy's max_emergency_minutes) after its commit; add it.`,
      },
    ];
  }
  const deadline = emergencyDeadline(approval.source.introduced?.time ?? null, [limit]);
  if (deadline !== null && Date.parse(spec.expires_at) > deadline.deadlineMs) {
    return [
      {
        rule: 'approval.emergency-expiry',
        segments: ['spec', 'expires_at'],
        message: `A break-glass approval may be valid for at most ${limit} minutes (max_emergency_minutes) after its commit at ${approval.source.introduced?.time ?? ''}, i.e. until ${new Date(deadline.deadlineMs).toISOString()}; set an earlier \`expires_at\`.`,
      },
    ];
  }
  return [];
}

/**
 * Names that occur more than once per kind. Every copy is reported: which one is meant is
 * ambiguous, so none of them is used.
 */
export function findDuplicateNames(manifests: readonly Manifest[]): Map<number, Violation[]> {
  const byKey = new Map<string, number[]>();
  manifests.forEach((manifest, index) => {
    const key = `${manifest.kind}\u0000${manifest.name}`;
    byKey.set(key, [...(byKey.get(key) ?? []), index]);
  });
  const result = new Map<number, Violation[]>();
  for (const indexes of byKey.values()) {
    if (indexes.length < 2) continue;
    for (const index of indexes) {
      const manifest = manifests[index]!;
      const others = indexes
        .filter((other) => other !== index)
        .map((other) => `${manifests[other]!.source.path}#${manifests[other]!.source.document}`);
      result.set(index, [
        {
          rule: 'ref.duplicate-name',
          segments: ['metadata', 'name'],
          message: `Another ${manifest.kind} is also named "${manifest.name}" (${others.join(', ')}); names must be unique per kind, rename or remove one.`,
        },
      ]);
    }
  }
  return result;
}

/** Whether a delivery selects a provider: listed by name, or `all` and the provider is enabled. */
function deliverySelects(delivery: AuditDelivery, provider: Provider): boolean {
  return delivery.spec.providers === 'all'
    ? provider.spec.enabled
    : delivery.spec.providers.includes(provider.name);
}

/** Reference rules of one manifest, against the valid manifests of the kinds it refers to. */
export function checkReferences(
  manifest: Manifest,
  valid: {
    providers: Map<string, Provider>;
    deliveries: Map<string, AuditDelivery>;
    /** The valid ReconcilerPolicy of the revision (defaults when absent). */
    policy?: ReconcilerPolicySpec | null;
  },
  records?: ClosureTargets,
): Violation[] {
  const violations: Violation[] = [];
  const missingProvider = (name: string, segments: (string | number)[]): Violation => ({
    rule: 'ref.provider',
    segments,
    message: `No valid Provider is named "${name}"; add a Provider manifest with that name or fix the reference.`,
  });
  switch (manifest.kind) {
    case 'AuditDelivery':
      if (manifest.spec.providers !== 'all') {
        manifest.spec.providers.forEach((name, index) => {
          if (!valid.providers.has(name)) violations.push(missingProvider(name, ['spec', 'providers', index]));
        });
      }
      break;
    case 'RetryAcknowledgement':
    case 'RetryApproval': {
      const delivery = valid.deliveries.get(manifest.spec.delivery);
      const provider = valid.providers.get(manifest.spec.provider);
      if (delivery === undefined) {
        violations.push({
          rule: 'ref.delivery',
          segments: ['spec', 'delivery'],
          message: `No valid AuditDelivery is named "${manifest.spec.delivery}"; fix the reference or add the delivery.`,
        });
      }
      if (provider === undefined) {
        violations.push(missingProvider(manifest.spec.provider, ['spec', 'provider']));
      } else if (delivery !== undefined && !deliverySelects(delivery, provider)) {
        violations.push({
          rule: 'ref.provider-not-selected',
          segments: ['spec', 'provider'],
          message: `The AuditDelivery "${delivery.name}" does not deliver to provider "${provider.name}"${delivery.spec.providers === 'all' ? ' (it is disabled)' : ''}; name a provider the delivery selects.`,
        });
      }
      if (manifest.kind === 'RetryApproval') {
        violations.push(...checkEmergencyApproval(manifest, valid.policy ?? DEFAULT_POLICY_SPEC));
      }
      break;
    }
    case 'RecoveryClosure':
      if (records !== undefined) violations.push(...checkClosureReferences(manifest.spec, records));
      break;
    default:
      break;
  }
  return violations;
}

/** Kinds in the order their references resolve: a kind only refers to kinds before it. */
export const REFERENCE_ORDER: readonly ManifestKind[] = [
  'ReconcilerPolicy',
  'Provider',
  'AuditDelivery',
  'RetryAcknowledgement',
  'RetryApproval',
  'RecoveryClosure',
];
