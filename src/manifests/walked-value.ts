/**
 * A value met while walking a parsed document (the secret and private-host scans), with the way
 * back to the document's root. The path of a value is built only for a hit: building it for every
 * value walked cost an array per value of every manifest.
 */
export interface WalkedValue {
  value: unknown;
  /** The nearest map key above the value ('' at the root); array items inherit their array's. */
  key: string;
  /** The key or index under which the parent holds the value (unused at the root). */
  segment: string | number;
  parent: WalkedValue | null;
}

/** The path from the walk's root to `node`: its keys and indexes, outermost first. */
export function segmentsOf(node: WalkedValue): (string | number)[] {
  const segments: (string | number)[] = [];
  for (let at: WalkedValue = node; at.parent !== null; at = at.parent) segments.push(at.segment);
  return segments.reverse();
}
