'use strict';
/*
 * Runs s3rver in its own process, started by s3-server.ts with `fork()`:
 *  - s3rver 3.7.1 makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 offers only
 *    with `--openssl-legacy-provider`; that flag is given to this process alone.
 *  - A crash in s3rver does not take the test process down with it.
 * Protocol (IPC): sends { port } once listening; answers { id, type: 'createBucket', name } with
 * { id } (or { id, error }); on 'stop' (or when the parent goes away) closes and exits.
 */
const fs = require('node:fs/promises');
const S3rver = require('s3rver');

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: process.env.S3RVER_LOG !== '1', directory });
keepFolders(server.store);

/**
 * s3rver removes a folder as soon as its last object is deleted, racing with a PUT into the same
 * folder that has made the folder but not yet opened its file: that PUT's write stream then fails
 * with ENOENT, uncaught. Empty folders are invisible to S3 clients (s3rver lists files only), so
 * deletes here just leave them.
 */
function keepFolders(store) {
  store.deleteObject = async (bucket, key) => {
    const files = ['object', 'object.md5', 'metadata.json'].map((resource) => store.getResourcePath(bucket, key, resource));
    await Promise.all(files.map((file) => fs.rm(file, { force: true })));
  };
}

async function stop() {
  await server.close().catch(() => undefined);
  process.exit(0);
}

process.on('message', async (message) => {
  if (message.type === 'stop') return stop();
  if (message.type === 'createBucket') {
    try {
      await server.store.putBucket(message.name);
      process.send({ id: message.id });
    } catch (err) {
      process.send({ id: message.id, error: String(err) });
    }
  }
});
process.on('disconnect', stop);

server.run().then(
  ({ port }) => process.send({ port }),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
