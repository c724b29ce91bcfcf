/**
 * validateManifests: the whole validation pipeline over the files of one revision (or of the
 * working tree). Per document: safe YAML → secrets → schema → per-document rules → normalise;
 * then across documents: unique names and references, kind by kind in reference order. An
 * invalid document is skipped with a condition saying why; the rest still load. Pure.
 */
import type {
  AuditDelivery,
  CommitInfo,
  Finding,
  Manifest,
  ManifestCondition,
  ManifestSet,
  ManifestSource,
  Provider,
  ReconcilerPolicySpec,
} from '../domain/types.js';
import { isManifestKind, validateDocument } from '../schemas/index.js';
import { schemaErrorsToFindings } from './schema-findings.js';
import { findPrivateHosts } from './hosts.js';
import { resolveLimits, type YamlLimits } from './limits.js';
import { COMMIT_TIME_FIELD, normalizeManifest } from './normalize.js';
import { locatePath, parseYamlFile, type ParsedDocument, type ParsedYamlFile } from './parse-yaml.js';
import { compareFindings, makeFinding } from './rules.js';
import { isSafeToEcho, safePointer, scanForSecrets } from './secrets.js';
import type { ClosureTargets } from '../domain/closures.js';
import {
  REFERENCE_ORDER,
  checkManifestRules,
  checkReferences,
  findDuplicateNames,
  type Violation,
} from './semantic-rules.js';

export interface ManifestFileInput {
  /** Repository-relative path with forward slashes. */
  path: string;
  content: Buffer;
  /** Git blob id ('' for the working tree). */
  blob: string;
  /**
   * The commit that introduced the file's content; null for the working tree. Used for documents
   * that `introducedByDocument` has no commit for.
   */
  introduced: CommitInfo | null;
  /**
   * The commit that introduced each document, by document index (provenance by content,
   * docs/reference.md §4): what a committed revision's reader passes, so each document has its own
   * commit-time defaults.
   */
  introducedByDocument?: readonly (CommitInfo | null)[];
  /** The file already parsed with the same limits (the history walk parsed it): not parsed again. */
  parsed?: ParsedYamlFile;
  /** `parsed` holds only some of the file's documents (a reader's selection): never cached by the file's key. */
  partial?: boolean;
}

export interface ManifestLoadResult {
  manifests: ManifestSet;
  findings: Finding[];
  conditions: ManifestCondition[];
}

export interface ValidateManifestsOptions {
  records?: ClosureTargets;
  limits?: Partial<YamlLimits>;
  /**
   * Per-file results of earlier calls (parse, schema and single-document rules), keyed by path,
   * blob and introducing commit: a long-running loop re-checks only the files that changed.
   * Entries of files no longer present are dropped, so the cache stays the size of the repository.
   */
  cache?: ManifestCache;
  /** Called as files are checked (the CLI draws a progress bar on a terminal). */
  onProgress?: (done: number, total: number) => void;
}

/** What one file contributes before the cross-document rules; reusable while its key holds. */
interface ParsedManifestFile {
  findings: Finding[];
  conditions: ManifestCondition[];
  candidates: Candidate[];
}

export type ManifestCache = Map<string, ParsedManifestFile>;

/** Cache key of a file read from git; null for working-tree files (no blob id to trust). */
export function manifestCacheKey(
  input: Pick<ManifestFileInput, 'path' | 'blob' | 'introduced' | 'introducedByDocument' | 'partial'>,
): string | null {
  if (input.blob === '' || input.partial === true) return null;
  const perDocument = (input.introducedByDocument ?? []).map((info) => info?.commit ?? '').join(',');
  return `${input.path}\n${input.blob}\n${input.introduced?.commit ?? ''}\n${perDocument}`;
}

const MANIFEST_PATH = /^manifests\/(?:[^/]+\/)*[^/]+\.ya?ml$/;

/** Only `manifests/**\/*.yaml|yml` are manifests. */
export function isManifestPath(path: string): boolean {
  return MANIFEST_PATH.test(path);
}

/**
 * One document that passed the per-document checks, waiting for the cross-document rules. It
 * keeps its file's bytes, not the parse: candidates live in the loop's cache, and a YAML AST is
 * ten times the size of its text. A cross-document finding (rare) parses the file again to place
 * itself.
 */
interface Candidate {
  manifest: Manifest;
  condition: ManifestCondition;
  /** The file's text. */
  text: string;
}

const REASON_BY_RULE: [prefix: string, reason: string][] = [
  ['yaml.too-large', 'TooLarge'],
  ['yaml.', 'InvalidYaml'],
  ['manifest.kind', 'UnknownKind'],
  ['manifest.', 'NotAnObject'],
  ['secret.', 'SecretMaterial'],
  ['schema.', 'SchemaViolation'],
  ['host.', 'PrivateHost'],
  ['ref.duplicate-name', 'DuplicateName'],
  ['ref.', 'UnresolvedReference'],
  ['policy.', 'InvalidPolicy'],
  ['approval.', 'InvalidApproval'],
  ['provider.', 'InvalidProvider'],
];

function reasonFor(rule: string): string {
  return REASON_BY_RULE.find(([prefix]) => rule.startsWith(prefix))?.[1] ?? 'Invalid';
}

function notReady(condition: ManifestCondition, errors: readonly Finding[]): ManifestCondition {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more finding(s))` : '';
  return {
    ...condition,
    ready: false,
    reason: reasonFor(first.rule),
    message: `Skipped: ${first.rule} at line ${first.line}: ${first.message}${more}`,
  };
}

/**
 * Validate the manifest files of one revision. Files outside `manifests/` or not ending in
 * `.yaml`/`.yml` are ignored. Never throws on file content.
 */
export function validateManifests(
  files: readonly ManifestFileInput[],
  options: ValidateManifestsOptions = {},
): ManifestLoadResult {
  const limits = resolveLimits(options.limits);
  const findings: Finding[] = [];
  const conditions: ManifestCondition[] = [];
  const candidates: Candidate[] = [];

  const sorted = files.filter((f) => isManifestPath(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1));
  const used = new Set<string>();
  options.onProgress?.(0, sorted.length);
  for (const [index, input] of sorted.entries()) {
    const key = options.cache ? manifestCacheKey(input) : null;
    let outcome = key === null ? undefined : options.cache?.get(key);
    if (outcome === undefined) {
      outcome = checkFile(input, limits);
      if (key !== null) options.cache?.set(key, outcome);
    }
    if (key !== null) used.add(key);
    findings.push(...outcome.findings);
    conditions.push(...outcome.conditions);
    // Cross-document rules replace a candidate's condition: give them copies, keep the cache intact.
    candidates.push(...outcome.candidates.map((candidate) => ({ ...candidate })));
    options.onProgress?.(index + 1, sorted.length);
  }
  if (options.cache) {
    for (const key of options.cache.keys()) if (!used.has(key)) options.cache.delete(key);
  }

  const valid = applyCrossDocumentRules(candidates, options.records, findings, limits);
  for (const candidate of candidates) conditions.push(candidate.condition);

  findings.sort(compareFindings);
  conditions.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.document - b.document));
  return { manifests: toManifestSet(valid), findings, conditions };
}

/** Parse one file and check each document on its own (no cross-document rule). */
function checkFile(input: ManifestFileInput, limits: YamlLimits): ParsedManifestFile {
  const outcome: ParsedManifestFile = { findings: [], conditions: [], candidates: [] };
  const file = input.parsed ?? parseYamlFile(input.path, input.content, limits);
  if (file.findings.length > 0) {
    outcome.findings.push(...file.findings);
    outcome.conditions.push(
      notReady({ file: input.path, document: 0, kind: '', name: '', ready: false, reason: '', message: '' }, file.findings),
    );
    return outcome;
  }
  for (const parsed of file.documents) {
    // An empty document still counts when it has findings (a secret in its only comment).
    if (parsed.empty && parsed.findings.length === 0) continue;
    const checked = checkDocument(input, file, parsed);
    outcome.findings.push(...checked.findings);
    if (checked.candidate === undefined) outcome.conditions.push(checked.condition);
    else outcome.candidates.push(checked.candidate);
  }
  return outcome;
}

function checkDocument(
  input: ManifestFileInput,
  file: ParsedYamlFile,
  parsed: ParsedDocument,
): { findings: Finding[]; condition: ManifestCondition; candidate?: Candidate } {
  const value = parsed.value as Record<string, unknown> | undefined;
  const rawKind = value?.kind;
  const metadata = value?.metadata as Record<string, unknown> | undefined;
  const kind = isManifestKind(rawKind) ? rawKind : '';
  const rawName = typeof metadata === 'object' && metadata !== null ? metadata.name : undefined;
  const name = typeof rawName === 'string' && isSafeToEcho(rawName) ? rawName : '';
  const condition: ManifestCondition = {
    file: input.path,
    document: parsed.index,
    kind,
    name,
    ready: true,
    reason: 'Valid',
    message: 'The manifest is valid.',
  };
  const locate = (segments: readonly (string | number)[], options?: { key?: boolean }) =>
    locatePath(parsed, file.lineCounter, segments, options);
  const finding = (v: Violation): Finding => {
    const at = locate(v.segments);
    return makeFinding({
      file: input.path,
      line: at.line,
      column: at.column,
      kind,
      name,
      path: safePointer(v.segments),
      rule: v.rule,
      message: v.message,
    });
  };

  if (parsed.findings.length > 0) {
    const errors = parsed.findings.map((f) => ({ ...f, kind, name }));
    return { findings: errors, condition: notReady(condition, errors) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const error = makeFinding({
      file: input.path,
      line: parsed.line,
      column: parsed.column,
      rule: 'manifest.not-an-object',
      message: 'The document is not a mapping; a manifest has apiVersion, kind, metadata and spec.',
    });
    return { findings: [error], condition: notReady(condition, [error]) };
  }

  // Secrets first: they are reported even when the document is wrong in other ways.
  const errors: Finding[] = scanForSecrets(value).map((hit) =>
    finding({
      rule: hit.rule,
      segments: hit.segments,
      message: `${hit.inKey ? 'A key here' : 'This value'} looks like ${hit.label}; secrets must not be committed: remove it (and rotate it), and reference an environment variable through a \`*_env\` field instead.`,
    }),
  );

  if (kind === '') {
    errors.push(
      finding({
        rule: 'manifest.kind',
        segments: rawKind === undefined ? [] : ['kind'],
        message: `The document ${rawKind === undefined ? 'has no kind' : 'has an unknown kind'}; use one of: Provider, ReconcilerPolicy, AuditDelivery, RetryAcknowledgement, RetryApproval, RecoveryClosure.`,
      }),
    );
    return { findings: errors, condition: notReady(condition, errors) };
  }

  const schemaErrors = validateDocument(kind, value);
  if (schemaErrors.length > 0) {
    errors.push(...schemaErrorsToFindings(schemaErrors, { file: input.path, kind, name, locate }));
  }
  for (const hit of findPrivateHosts(value.spec, ['spec'])) {
    errors.push(
      finding({
        rule: 'host.private',
        segments: hit.segments,
        message:
          'This public field points at a loopback, private or internal host; manifests are public: use a public address, or keep endpoints in the environment variable named by `url_env`.',
      }),
    );
  }
  if (errors.length > 0) return { findings: errors, condition: notReady(condition, errors) };

  const introduced = input.introducedByDocument?.[parsed.index] ?? input.introduced;
  const source: ManifestSource = {
    path: input.path,
    document: parsed.index,
    line: parsed.line,
    column: parsed.column,
    blob: input.blob,
    introduced,
  };
  const manifest = normalizeManifest(kind, value, source);
  const ruleErrors = checkManifestRules(manifest).map(finding);
  if (ruleErrors.length > 0) return { findings: ruleErrors, condition: notReady(condition, ruleErrors) };

  const warnings: Finding[] = [];
  const timeField = COMMIT_TIME_FIELD[kind];
  const spec = value.spec as Record<string, unknown>;
  if (timeField !== undefined && introduced === null && spec[timeField] === undefined) {
    warnings.push({
      ...finding({
        rule: 'time.commit-time-unknown',
        segments: ['spec'],
        message: `\`spec.${timeField}\` defaults to the time of the commit that introduces this file, which the working tree does not have; 1970-01-01T00:00:00Z is used until it is committed.`,
      }),
      path: `/spec/${timeField}`,
      severity: 'warning',
    });
  }
  return { findings: warnings, condition, candidate: { manifest, condition, text: file.text } };
}

/**
 * Unique names, then references kind by kind (REFERENCE_ORDER), so a reference to a manifest that
 * was itself skipped does not resolve. Marks failing candidates not ready; returns the valid ones.
 */
function applyCrossDocumentRules(
  candidates: Candidate[],
  records: ClosureTargets | undefined,
  findings: Finding[],
  limits: YamlLimits,
): Candidate[] {
  const violations = new Map<number, Violation[]>(findDuplicateNames(candidates.map((c) => c.manifest)));
  const providers = new Map<string, Provider>();
  const deliveries = new Map<string, AuditDelivery>();
  let policy: ReconcilerPolicySpec | null = null;
  const valid = new Set<number>();

  for (const kind of REFERENCE_ORDER) {
    candidates.forEach((candidate, index) => {
      const manifest = candidate.manifest;
      if (manifest.kind !== kind) return;
      const own = [
        ...(violations.get(index) ?? []),
        ...checkReferences(manifest, { providers, deliveries, policy }, records),
      ];
      if (own.length > 0) {
        violations.set(index, own);
        return;
      }
      valid.add(index);
      if (manifest.kind === 'Provider') providers.set(manifest.name, manifest);
      if (manifest.kind === 'AuditDelivery') deliveries.set(manifest.name, manifest);
      if (manifest.kind === 'ReconcilerPolicy') policy = manifest.spec;
    });
  }

  const reparsed = new Map<string, ParsedYamlFile>();
  for (const [index, list] of violations) {
    const candidate = candidates[index]!;
    const { path, document } = candidate.manifest.source;
    let file = reparsed.get(path);
    if (file === undefined) reparsed.set(path, (file = parseYamlFile(path, candidate.text, limits)));
    const parsed = file.documents.find((each) => each.index === document);
    const errors = list.map((v) => {
      const at = parsed
        ? locatePath(parsed, file.lineCounter, v.segments)
        : { line: candidate.manifest.source.line, column: candidate.manifest.source.column };
      return makeFinding({
        file: candidate.manifest.source.path,
        line: at.line,
        column: at.column,
        kind: candidate.manifest.kind,
        name: candidate.manifest.name,
        path: safePointer(v.segments),
        rule: v.rule,
        message: v.message,
      });
    });
    findings.push(...errors);
    candidate.condition = notReady(candidate.condition, errors);
  }
  return candidates.filter((_, index) => valid.has(index));
}

function toManifestSet(valid: readonly Candidate[]): ManifestSet {
  const set: ManifestSet = {
    providers: [],
    policy: null,
    deliveries: [],
    acknowledgements: [],
    approvals: [],
    closures: [],
  };
  for (const { manifest } of valid) {
    switch (manifest.kind) {
      case 'Provider':
        set.providers.push(manifest);
        break;
      case 'ReconcilerPolicy':
        set.policy = manifest;
        break;
      case 'AuditDelivery':
        set.deliveries.push(manifest);
        break;
      case 'RetryAcknowledgement':
        set.acknowledgements.push(manifest);
        break;
      case 'RetryApproval':
        set.approvals.push(manifest);
        break;
      case 'RecoveryClosure':
        set.closures.push(manifest);
        break;
    }
  }
  return set;
}
