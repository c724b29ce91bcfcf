/**
 * The few typed errors of the project. Messages say what failed, where, and how to fix it; the
 * CLI catches once, prints the message (the stack only with --debug) and maps the class to an exit code.
 */

export const EXIT = {
  ok: 0,
  findings: 1,
  pending: 2,
  usage: 2,
  infrastructure: 3,
} as const;

abstract class CavraError extends Error {
  abstract readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Usage or configuration error: bad flags, missing env var, unknown kind (exit 2). */
export class ExitError extends CavraError {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** git failed: unreachable remote, unknown revision, corrupt clone (exit 3). */
export class GitError extends CavraError {
  readonly exitCode = EXIT.infrastructure;
}

/** The revision names no commit in the repository: the caller's mistake, not a broken clone. */
export class UnknownRevisionError extends GitError {}

/**
 * Why a provider's connector cannot be built (PascalCase, for a NotReady provider condition):
 * an env var the Provider names is unset (`EnvVarMissing`) or holds something unusable
 * (`EnvVarInvalid`), a field or option is missing or wrong (`ConfigurationInvalid`), or a `file`
 * provider's directory lies outside the file root (`DirectoryOutsideFileRoot`).
 */
export type ConnectorErrorReason =
  'EnvVarMissing' | 'EnvVarInvalid' | 'ConfigurationInvalid' | 'DirectoryOutsideFileRoot';

/**
 * The revision names an object that is not a commit (a tree, a blob): still the caller's mistake,
 * but a malformed request rather than a miss.
 */
export class NotACommitError extends UnknownRevisionError {
  constructor(
    message: string,
    /** The type of the object the id names, e.g. `tree` or `blob`. */
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A connector could not be built or called for a reason that is not a delivery outcome (exit 3). */
export class ConnectorError extends CavraError {
  readonly exitCode = EXIT.infrastructure;
  /** Set when the error is a configuration the operator must fix (the connector cannot be built). */
  readonly reason: ConnectorErrorReason | undefined;
  constructor(message: string, options?: { cause?: unknown; reason?: ConnectorErrorReason }) {
    super(message, options);
    this.reason = options?.reason;
  }
}

/** The replica's state dir holds something it cannot use, e.g. a damaged outcome journal (exit 3). */
export class StateError extends CavraError {
  readonly exitCode = EXIT.infrastructure;
}

/** A bug: an invariant did not hold. */
export class InternalError extends CavraError {
  readonly exitCode = EXIT.infrastructure;
}

/** The message of anything thrown (an Error's message, or the value as text). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isCavraError(error: unknown): error is CavraError {
  return error instanceof CavraError;
}
