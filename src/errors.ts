/**
 * Two kinds of failure: the user's (bad option, missing root, bad input file) and ours (a bug).
 * A UserError prints as one line and exits non-zero; anything else is a bug and keeps its stack
 * (shown with --verbose).
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Another process holds the warehouse lock; retrying later makes sense. */
export class BusyError extends UserError {
  constructor(message: string) {
    super(message, 3);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
