import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Server {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /**
   * What a process needs to use `s3://bucket/prefix` roots against this server: credentials
   * (s3rver accepts only S3RVER/S3RVER), region, endpoint, path-style addressing.
   */
  readonly env: NodeJS.ProcessEnv;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const SERVER_PROCESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3rver-process.cjs');

/**
 * A local S3 (s3rver) on 127.0.0.1, on a free port, keeping its objects in a fresh temp folder that
 * stop() removes. It runs in a child process (see s3rver-process.cjs for why); set S3RVER_LOG=1 to
 * see its request log.
 */
export async function startS3Server(): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'strata-s3rver-'));
  const child = fork(SERVER_PROCESS, [directory], { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const [first] = (await Promise.race([once(child, 'message'), exited.then(() => [undefined])])) as [{ port?: number } | undefined];
  if (first?.port === undefined) {
    await rm(directory, { recursive: true, force: true });
    throw new Error('s3rver did not start');
  }
  const endpoint = `http://127.0.0.1:${first.port}`;

  let nextId = 0;
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  child.on('message', (message: { id?: number; error?: string }) => {
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error === undefined) waiter.resolve();
    else waiter.reject(new Error(message.error));
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('s3rver exited'));
    pending.clear();
  });

  return {
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      // Never wait on the EC2 instance metadata service if the chain gets that far.
      AWS_EC2_METADATA_DISABLED: 'true',
      STRATA_S3_ENDPOINT: endpoint,
      STRATA_S3_FORCE_PATH_STYLE: '1',
    },
    createBucket(name) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, type: 'createBucket', name });
      });
    },
    async stop() {
      try {
        if (child.exitCode === null && child.connected) {
          child.send({ type: 'stop' });
          await exited;
        }
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}
