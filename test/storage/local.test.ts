import path from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { LocalStorage } from '../../src/storage/local.js';
import { runStorageSuite } from './storage-suite.js';

runStorageSuite(
  'local',
  async () => {
    const { dir, cleanup } = await tempDir('strata-local-storage-');
    return { storage: new LocalStorage(dir), cleanup };
  },
  {
    missingRoot: async () => new LocalStorage(path.join((await tempDir()).dir, 'does', 'not', 'exist')),
    bigFileBytes: 21 * 1024 * 1024,
    // Known gap: LocalStorage sorts each folder on its own, so `a/b` comes before `a-b` and
    // `a.json`. Sorting a folder's entries on `name + '/'` for folders would fix it.
    
  },
);
