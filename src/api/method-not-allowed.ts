/**
 * The API is read-only: every change goes through a manifest merged into the ops repository, so
 * the merge is the approval gate and git history the audit trail. Any method other than GET/HEAD
 * gets 405 with `Allow: GET, HEAD`; on the paths where CAVRA accepted a POST the message says which
 * manifest to commit instead.
 *
 * The request body is never read. When a client sends one, the connection is closed after the 405
 * (`Connection: close`), so Node neither buffers nor drains a body nobody will look at.
 */
import { withIndefiniteArticle } from '../domain/indefinite-article.js';
import type { NextFunction, Request, Response } from 'express';
import type { ManifestKind } from '../domain/types.js';
import { HttpError } from './http-error.js';
import { sendError } from './respond.js';

export const ALLOWED_METHODS = 'GET, HEAD';

/** What to do instead of a former CAVRA POST. */
export interface ManifestHint {
  kind: ManifestKind;
  /** What the manifest does, completing "commit a <kind> manifest under manifests/ through a pull request ...". */
  purpose: string;
}

/** Former POST paths (relative to the flow base) and the manifest that replaces each. */
export const FORMER_POST_HINTS: Readonly<Record<string, ManifestHint>> = {
  '': { kind: 'AuditDelivery', purpose: 'to deliver an acknowledgement audit package to providers' },
  '/acknowledgements/audit-delivery/retry-acknowledgements': {
    kind: 'RetryAcknowledgement',
    purpose: 'to acknowledge a failed delivery',
  },
  '/acknowledgements/audit-delivery/retry-approvals': {
    kind: 'RetryApproval',
    purpose: 'to approve (or deny) a retry',
  },
  '/acknowledgements/audit-delivery/retry-plan': {
    kind: 'RetryApproval',
    purpose: 'with a RetryAcknowledgement; the reconciler plans retries from them on every run',
  },
  '/acknowledgements/audit-delivery/retry-executions': {
    kind: 'RetryApproval',
    purpose: 'the reconciler executes an approved retry exactly once after the merge',
  },
  '/acknowledgements/audit-delivery/connector-recovery-playbooks': {
    kind: 'ReconcilerPolicy',
    purpose: 'and set spec.recovery; the reconciler generates playbooks from repeated failures',
  },
  '/acknowledgements/audit-delivery/connector-recovery-playbooks/:playbookId/closures': {
    kind: 'RecoveryClosure',
    purpose: 'to close (resolve, mitigate, defer, escalate or reopen) a playbook row',
  },
};

/** The 405 message for `method`, naming the manifest to commit instead when there is a hint. */
export function describeMethodNotAllowed(method: string, hint?: ManifestHint): string {
  const base = `${method} is not allowed: this API is read-only (GET, HEAD).`;
  if (hint === undefined) return `${base} Change the ops repository through a pull request instead.`;
  return `${base} Instead, commit ${withIndefiniteArticle(hint.kind)} manifest under manifests/ through a pull request ${hint.purpose}.`;
}

/** Handler answering 405 for a route, with the manifest hint of a former POST path when given. */
export function createMethodNotAllowedHandler(hint?: ManifestHint) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // GET/HEAD reach this only when nothing answered them (a missing console file): that is a 404.
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    // Label the latency metric by route pattern (bounded), never by the raw path.
    const locals = res.locals as { routeName?: string };
    locals.routeName ??= (req.route as { path?: string } | undefined)?.path ?? 'method-not-allowed';
    res.setHeader('Allow', ALLOWED_METHODS);
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    if (hasBody || req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
    const details = hint === undefined ? {} : { manifest_kind: hint.kind };
    sendError(
      res,
      new HttpError(405, 'method_not_allowed', describeMethodNotAllowed(req.method, hint), details),
    );
  };
}
