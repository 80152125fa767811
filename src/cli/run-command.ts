import { UserError, errorMessage } from '../errors.js';

/**
 * Wraps a command's action: user mistakes become one line on stderr and a non-zero exit,
 * bugs keep their stack only with --verbose.
 */
export function runCommand<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      const verbose = process.argv.includes('--verbose');
      if (err instanceof UserError) {
        process.stderr.write(`strata: ${err.message}\n`);
        if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`strata: internal error: ${errorMessage(err).split('\n')[0]}\n`);
        if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
        process.exitCode = 1;
      }
    }
  };
}
