/** Limits that make parsing untrusted YAML safe: each one exceeded is a finding, never a crash or a hang. */
export interface YamlLimits {
  /** Largest file accepted, in bytes; checked before parsing (and before reading a blob). */
  maxFileBytes: number;
  /** Deepest nesting of collections. */
  maxDepth: number;
  /** Most alias expansions per document (alias bombs). */
  maxAliasCount: number;
  /** Most YAML documents per file. */
  maxDocuments: number;
}

export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxFileBytes: 1024 * 1024,
  maxDepth: 64,
  maxAliasCount: 100,
  maxDocuments: 100,
});

export function resolveLimits(limits?: Partial<YamlLimits>): YamlLimits {
  return { ...DEFAULT_YAML_LIMITS, ...limits };
}
