/**
 * The one error type of the HTTP layer: a status code plus the `{error: {code, message}}` body
 * docs/reference.md §8 promises. Route code throws it; the app's error handler turns it into the response.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members of the `error` object (e.g. `manifest_kind` on a 405). */
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }

  /** The JSON body sent to the client. Never includes a stack or a cause. */
  toBody(): { error: Record<string, unknown> & { code: string; message: string } } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}
