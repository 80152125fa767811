import os from 'node:os';
import { BusyError } from '../errors.js';
import { ObjectExistsError, type Storage } from '../storage/storage.js';
import { LOCK_KEY } from './layout.js';

interface LockBody {
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

export interface LockOptions {
  /** How long to wait for another run to finish before giving up (ms). */
  readonly waitMs?: number;
  /** A lease not renewed for this long is taken over (ms). */
  readonly leaseMs?: number;
}

/**
 * A lease on the warehouse, kept as an object in the store itself so that it works the same on
 * a local folder and on S3 (where no file lock exists). Created with an exclusive write,
 * renewed while the run lives, and taken over when its holder is gone: dead pid on this host,
 * or lease expired. The commit log's exclusive writes remain the last line of defence.
 */
export class WarehouseLock {
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly storage: Storage,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  static async acquire(storage: Storage, owner: string, options: LockOptions = {}): Promise<WarehouseLock> {
    const leaseMs = options.leaseMs ?? 60_000;
    const deadline = Date.now() + (options.waitMs ?? 0);
    const lock = new WarehouseLock(storage, owner, leaseMs);
    for (;;) {
      if (await lock.#tryCreate()) break;
      const holder = await lock.#readHolder();
      if (holder && isStale(holder)) {
        // Two takers may race here; the exclusive create below decides who wins.
        await storage.delete(LOCK_KEY);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `run ${holder.owner} (pid ${holder.pid} on ${holder.host}, since ${holder.acquiredAt})` : 'another run';
        throw new BusyError(`warehouse ${storage.uri} is busy: ${who} holds its lock; try again when it finishes`);
      }
      await sleep(250);
    }
    lock.#timer = setInterval(() => void lock.#renew().catch(() => undefined), Math.max(leaseMs / 3, 1000));
    lock.#timer.unref();
    return lock;
  }

  /** Confirms the lease is still ours, right before an irreversible step. */
  async assertHeld(): Promise<void> {
    const holder = await this.#readHolder();
    if (!holder || holder.owner !== this.owner) throw new BusyError(`lost the warehouse lock of ${this.storage.uri} to ${holder?.owner ?? 'nobody'}`);
  }

  async release(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    const holder = await this.#readHolder();
    if (holder?.owner === this.owner) await this.storage.delete(LOCK_KEY);
  }

  #body(): string {
    const now = Date.now();
    const body: LockBody = {
      owner: this.owner,
      pid: process.pid,
      host: os.hostname(),
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.leaseMs).toISOString(),
    };
    return JSON.stringify(body);
  }

  async #tryCreate(): Promise<boolean> {
    try {
      await this.storage.write(LOCK_KEY, this.#body(), { ifNotExists: true });
      return true;
    } catch (err) {
      if (err instanceof ObjectExistsError) return false;
      throw err;
    }
  }

  async #renew(): Promise<void> {
    const holder = await this.#readHolder();
    if (holder?.owner === this.owner) await this.storage.write(LOCK_KEY, this.#body());
  }

  async #readHolder(): Promise<LockBody | undefined> {
    try {
      return JSON.parse((await this.storage.readBytes(LOCK_KEY)).toString('utf8')) as LockBody;
    } catch {
      return undefined;
    }
  }
}

function isStale(holder: LockBody): boolean {
  if (Date.parse(holder.expiresAt) < Date.now()) return true;
  if (holder.host === os.hostname() && holder.pid !== process.pid) {
    try {
      process.kill(holder.pid, 0);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
