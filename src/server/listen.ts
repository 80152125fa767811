import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { UserError } from '../errors.js';

export interface Listening {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and ends open ones (browsers keep them alive). */
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Serves `app` on host:port (port 0 picks a free one); fails with a clear message when taken. */
export function listen(app: Hono, options: { host: string; port: number }): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host }) as Server;
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UserError(`port ${options.port} on ${options.host} is already in use; pick another with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UserError(`cannot listen on host ${options.host}: ${err.code}`));
      else reject(err);
    });
    server.once('listening', () => {
      const { port } = server.address() as AddressInfo;
      const hostText = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${hostText}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 1000).unref();
          }),
      });
    });
  });
}
