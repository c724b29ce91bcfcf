/**
 * GET <base>/evidence?uri=…: the records a CAVRA evidence URI (src/domain/evidence-uris.ts) names,
 * at the view's revision. Every URI the reconciler writes into `public_evidence_refs` resolves
 * here; an unknown form is a 400, a well-formed URI that names nothing a 404.
 */
import { EVIDENCE_URI_SCHEMES, parseEvidenceUri, type EvidenceUriScheme } from '../domain/evidence-uris.js';
import { deliveryPlanId } from '../domain/ids.js';
import { compareStrings } from '../domain/recovery-state.js';
import { HttpError } from './http-error.js';
import type { RevisionView } from './snapshot-source.js';

/** What each URI form resolves to (`kind` of the answer), for the answer and the OpenAPI document. */
const EVIDENCE_KINDS: Readonly<Record<EvidenceUriScheme, string>> = {
  [EVIDENCE_URI_SCHEMES.connectorDelivery]: 'delivery',
  [EVIDENCE_URI_SCHEMES.auditDelivery]: 'delivery-plan',
  [EVIDENCE_URI_SCHEMES.retryApproval]: 'approval-decision',
  [EVIDENCE_URI_SCHEMES.retryWorker]: 'run',
};

export interface EvidenceAnswer {
  uri: string;
  /** delivery | delivery-plan | approval-decision | run */
  kind: string;
  id: string;
  revision: string;
  /** The records the URI names (one for a delivery or a run; every attempt of a plan; the executions of a decision). */
  records: object[];
}

/** Parse the `uri` query parameter (400 when absent or not one of the forms). */
export function parseEvidenceParam(raw: string | undefined): {
  scheme: EvidenceUriScheme;
  id: string;
  uri: string;
} {
  if (raw === undefined) {
    throw new HttpError(
      400,
      'invalid_parameter',
      'uri is required, e.g. ?uri=connector-delivery://<record_id>.',
    );
  }
  const parsed = parseEvidenceUri(raw);
  if (parsed === null) {
    throw new HttpError(
      400,
      'invalid_parameter',
      `uri must be one of ${Object.values(EVIDENCE_URI_SCHEMES)
        .map((scheme) => `${scheme}://<id>`)
        .join(', ')}.`,
    );
  }
  return { ...parsed, uri: raw };
}

export function resolveEvidence(
  view: RevisionView,
  uri: { scheme: EvidenceUriScheme; id: string; uri: string },
): EvidenceAnswer {
  const records = view.snapshot.records;
  let found: object[];
  switch (uri.scheme) {
    case EVIDENCE_URI_SCHEMES.connectorDelivery:
      found = records.deliveries.filter((record) => record.record_id === uri.id);
      break;
    case EVIDENCE_URI_SCHEMES.auditDelivery:
      found = records.deliveries
        .filter((record) => deliveryPlanId(record) === uri.id)
        .sort((a, b) => a.attempt - b.attempt || compareStrings(a.record_id, b.record_id));
      break;
    case EVIDENCE_URI_SCHEMES.retryApproval:
      found = records.executions.filter((record) => record.approval_decision_id === uri.id);
      break;
    case EVIDENCE_URI_SCHEMES.retryWorker:
      found = records.runs.filter((record) => record.run_id === uri.id);
      break;
  }
  if (found.length === 0) {
    throw new HttpError(
      404,
      'not_found',
      `No ${EVIDENCE_KINDS[uri.scheme]} "${uri.id.slice(0, 100)}" at revision ${view.ledgerRevision.slice(0, 12)}.`,
    );
  }
  return {
    uri: uri.uri,
    kind: EVIDENCE_KINDS[uri.scheme],
    id: uri.id,
    revision: view.ledgerRevision,
    records: found,
  };
}
