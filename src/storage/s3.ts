import type { Storage } from './storage.js';
import { UserError } from '../errors.js';

/** Placeholder until the S3 backend lands (issue 7). */
export class S3Storage {
  static fromUri(uri: string): Storage {
    throw new UserError(`S3 storage is not available yet: ${uri}`);
  }
}
