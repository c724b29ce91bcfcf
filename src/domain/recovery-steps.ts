/**
 * Recovery steps written into a connector recovery playbook, per provider category (and for the
 * `file` type, which has no remote end). Steps are fixed text so a playbook is a pure function of
 * its failures: they name what to check and which manifest to commit once recovery is done, and
 * never include endpoints or credentials (those live in env vars the playbook does not see).
 */
import type { ProviderCategory, ProviderType } from './types.js';

const COMMON_CLOSING_STEPS: readonly string[] = [
  'Re-run the failed retry through a RetryApproval (state approved) once the cause is fixed, and confirm the execution record reports delivered.',
  'Commit a RecoveryClosure naming this playbook_id and provider (state resolved or mitigated) with the verifying execution ids in verification_refs.',
];

const STEPS_BY_CATEGORY: Readonly<Record<ProviderCategory, readonly string[]>> = {
  siem: [
    'Check the SIEM ingestion endpoint health (Splunk HEC, Datadog logs intake, Sentinel data collector) and any ingestion outage notices.',
    'Verify the ingestion token named by the Provider token_env is present, not expired or revoked, and allowed to write to the configured index or workspace.',
    'Check ingestion quotas and rate limits (HTTP 429, daily volume caps) and the index/sourcetype options in the Provider manifest.',
  ],
  itsm: [
    'Check the ITSM instance health (Jira or ServiceNow status page, maintenance windows).',
    'Verify the service account named by the Provider token_env still exists, is not locked, and may create issues or records in the configured project_key or table.',
    'Check that required fields, issue types and workflow rules of the target project or table still accept the audit payload (HTTP 400/422 point here).',
  ],
  chatops: [
    'Check the chat platform status (Slack or Microsoft Teams) for webhook or API incidents.',
    'Verify the incoming webhook or app named by the Provider url_env/token_env is still installed, not revoked, and the target channel still exists and is not archived.',
    'Check rate limiting (HTTP 429 with Retry-After) and message size limits for the audit summary.',
  ],
  webhook: [
    'Check that the receiving endpoint named by the Provider url_env is reachable from the reconciler (DNS, TLS certificate, firewall) and answers 2xx.',
    'Verify the Standard Webhooks signing secret named by signing_secret_env matches the receiver (a 401/403 usually means a rotated secret or clock skew in webhook-timestamp).',
    'Confirm the receiver deduplicates by the webhook-id header so a retried delivery with the same idempotency key is not processed twice.',
  ],
};

const FILE_STEPS: readonly string[] = [
  'Check that the Provider options.directory exists inside the repository-local base directory and is writable by the reconciler.',
  'Check free disk space and file-system permissions on the reconciler host.',
];

/**
 * Concrete recovery steps for a provider: category-specific checks, then the closing steps every
 * playbook shares (re-run the retry, commit a RecoveryClosure). `file` providers get file checks.
 */
export function recoveryStepsFor(category: ProviderCategory, type?: ProviderType): string[] {
  const specific = type === 'file' ? FILE_STEPS : STEPS_BY_CATEGORY[category];
  return [...specific, ...COMMON_CLOSING_STEPS];
}
