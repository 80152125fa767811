import { LocalStorage } from './local.js';
import type { Storage } from './storage.js';

/** The one place that turns a URI into a backend; everything else sees only `Storage`. */
export async function openStorage(uri: string): Promise<Storage> {
  if (uri.startsWith('s3://')) {
    const { S3Storage } = await import('./s3.js');
    return S3Storage.fromUri(uri);
  }
  return new LocalStorage(uri);
}
