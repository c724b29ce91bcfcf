/** Commit metadata as git prints it: signature status letters and commit times. */
import type { SignatureStatus } from '../domain/types.js';

const SIGNATURE_STATUS: Record<string, SignatureStatus> = {
  G: 'good',
  B: 'bad',
  U: 'untrusted',
  X: 'expired',
  Y: 'expired',
  R: 'revoked',
  E: 'error',
  N: 'none',
};

/** Map git's `%G?` letter to a SignatureStatus (unknown letters are `error`). */
export function parseSignatureStatus(letter: string): SignatureStatus {
  return SIGNATURE_STATUS[letter] ?? 'error';
}

/** Git commit time (epoch seconds) as UTC ISO-8601 without milliseconds. */
export function formatCommitTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
