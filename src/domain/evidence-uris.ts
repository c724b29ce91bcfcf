/**
 * CAVRA's URI forms in `public_evidence_refs` (format v2). Each names one thing the ledger
 * holds, and the API resolves it (GET <base>/evidence?uri=…, docs/records.md):
 *
 * | form | names |
 * |---|---|
 * | `connector-delivery://<record_id>` | the delivery record of one attempt |
 * | `go-rollback-drill-audit-delivery://<delivery_plan_id>` | every delivery record of the key's plan |
 * | `go-rollback-drill-retry-approval://<approval_decision_id>` | the execution that consumed the decision (its `approval` evidence) |
 * | `go-rollback-drill-retry-worker://<run_id>` | the run record of the run that executed |
 */
export const EVIDENCE_URI_SCHEMES = {
  connectorDelivery: 'connector-delivery',
  auditDelivery: 'go-rollback-drill-audit-delivery',
  retryApproval: 'go-rollback-drill-retry-approval',
  retryWorker: 'go-rollback-drill-retry-worker',
} as const;

export type EvidenceUriScheme = (typeof EVIDENCE_URI_SCHEMES)[keyof typeof EVIDENCE_URI_SCHEMES];

const SCHEMES: readonly string[] = Object.values(EVIDENCE_URI_SCHEMES);

export function evidenceUri(scheme: EvidenceUriScheme, id: string): string {
  return `${scheme}://${id}`;
}

/** The scheme and id of an evidence URI, or null when it is not one of the forms above. */
export function parseEvidenceUri(uri: string): { scheme: EvidenceUriScheme; id: string } | null {
  const match = /^([a-z-]+):\/\/([a-z0-9][a-z0-9.-]{0,250})$/.exec(uri);
  if (match === null || !SCHEMES.includes(match[1] ?? '')) return null;
  return { scheme: match[1] as EvidenceUriScheme, id: match[2] ?? '' };
}
