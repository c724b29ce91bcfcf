/** What the audit reports (shared by its steps). */

/** One finding of the audit: its rule, the file and the commit it is about, what to do. */
export interface AuditFinding {
  rule: string;
  file: string;
  /** The commit that made the file so ('' when no single commit did). */
  commit: string;
  message: string;
}

/** Progress of a long audit: the phase, and how far it is when countable (total 0: not countable). */
export type AuditProgress = (phase: string, done: number, total: number) => void;
