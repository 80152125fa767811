import type { Command } from 'commander';

export function registerDemo(_program: Command): void {
  // Filled in by the issue that owns this command.
}
