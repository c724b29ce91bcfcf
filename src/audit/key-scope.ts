/**
 * What verify's gate recompute reads of a revision for a few delivery keys: the decisions of one
 * key never depend on another key's documents or records, so each execution costs what its key
 * holds, not what the revision holds.
 */
import { compareStrings } from '../domain/recovery-state.js';
import type { DeliveryKey, ManifestSet } from '../domain/types.js';
import type { DocumentSummary } from '../manifests/document-identity.js';
import type { BranchHistory } from '../read-model/history-cache.js';

/**
 * For each delivery key, the manifest paths that ever held a document that can bear on it: its
 * AuditDelivery (by name), its approvals and acknowledgements (by delivery and provider), any
 * Provider or ReconcilerPolicy, any blob whose documents are unknown (too large, not YAML), and
 * any document of the same kind and name as one of those (a name used twice makes both invalid,
 * wherever the other one is). Built once from the walk (every path it lists under manifests/ with
 * the blob put there), so a key's files at a revision are looked up without listing its tree.
 */
export interface KeyPaths {
  /** The files that can bear on a delivery key. */
  ofKey: (key: DeliveryKey) => string[];
  /** `kind NL name` of every document that ever bore on one of the keys. */
  namesOf: (keys: readonly DeliveryKey[]) => Set<string>;
  /** The files that ever held a Provider or the ReconcilerPolicy (or whose documents are unknown). */
  shared: string[];
}

export function indexKeyPaths(
  history: BranchHistory,
  documents: ReadonlyMap<string, readonly DocumentSummary[] | null>,
): KeyPaths {
  const always = new Set<string>();
  /** `delivery NL name` or `pair NL delivery NL provider` → kind NL name of its documents. */
  const namesByKey = new Map<string, Set<string>>();
  /** kind NL name → the paths that held such a document. */
  const pathsByName = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, key: string, value: string): void => {
    let set = map.get(key);
    if (set === undefined) {
      set = new Set();
      map.set(key, set);
    }
    set.add(value);
  };
  const seen = new Set<string>();
  for (const commit of history.index.commits) {
    for (const change of commit.changes) {
      if (change.status === 'deleted' || !change.path.startsWith('manifests/')) continue;
      const pair = `${change.path}\n${change.blob}`;
      if (seen.has(pair)) continue;
      seen.add(pair);
      const summaries = documents.get(change.blob);
      if (summaries === undefined || summaries === null) {
        always.add(change.path);
        continue;
      }
      for (const summary of summaries) {
        const name = `${summary.kind}\n${summary.name}`;
        let key: string | null = null;
        if (summary.kind === 'AuditDelivery') key = `delivery\n${summary.name}`;
        else if (summary.kind === 'RetryApproval' || summary.kind === 'RetryAcknowledgement') {
          const spec = summary.value?.spec as Record<string, unknown> | undefined;
          if (spec !== undefined && typeof spec.delivery === 'string' && typeof spec.provider === 'string')
            key = `pair\n${spec.delivery}\n${spec.provider}`;
          else always.add(change.path);
        } else if (summary.kind === 'Provider' || summary.kind === 'ReconcilerPolicy')
          always.add(change.path);
        if (key === null) continue;
        add(namesByKey, key, name);
        add(pathsByName, name, change.path);
      }
    }
  }
  const namesOf = (keys: readonly DeliveryKey[]): Set<string> => {
    const names = new Set<string>();
    for (const key of keys) {
      for (const name of namesByKey.get(`delivery\n${key.delivery_id}`) ?? []) names.add(name);
      for (const name of namesByKey.get(`pair\n${key.delivery_id}\n${key.provider}`) ?? []) names.add(name);
    }
    return names;
  };
  return {
    ofKey: (key) => {
      const paths = new Set(always);
      for (const name of namesOf([key])) for (const path of pathsByName.get(name) ?? []) paths.add(path);
      return [...paths].sort(compareStrings);
    },
    namesOf,
    shared: [...always].sort(compareStrings),
  };
}

/**
 * The documents of a file that can bear on some delivery keys: any Provider or policy, and every
 * document named as one that ever bore on them (`names`, from {@link KeyPaths.namesOf}: their
 * AuditDelivery, approvals and acknowledgements, and any other document of the same kind and name,
 * so that a name used twice is found as a whole read finds it).
 */
export function documentsNamed(
  documents: readonly DocumentSummary[],
  names: ReadonlySet<string>,
): DocumentSummary[] {
  return documents.filter(
    (document) =>
      document.kind === 'Provider' ||
      document.kind === 'ReconcilerPolicy' ||
      names.has(`${document.kind}\n${document.name}`),
  );
}

/** The documents of the manifest set that concern these delivery keys (the providers and policy whole). */
export function scopeManifestsToKeys(manifests: ManifestSet, keys: readonly DeliveryKey[]): ManifestSet {
  const names = new Set(keys.map((key) => key.delivery_id));
  const pairs = new Set(keys.map((key) => `${key.delivery_id}\n${key.provider}`));
  const ofKey = (spec: { delivery: string; provider: string }): boolean =>
    pairs.has(`${spec.delivery}\n${spec.provider}`);
  return {
    providers: manifests.providers,
    policy: manifests.policy,
    deliveries: manifests.deliveries.filter((delivery) => names.has(delivery.name)),
    acknowledgements: manifests.acknowledgements.filter((ack) => ofKey(ack.spec)),
    approvals: manifests.approvals.filter((approval) => ofKey(approval.spec)),
    closures: [],
  };
}
