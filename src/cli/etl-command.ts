import type { Command } from 'commander';

export function registerEtl(_program: Command): void {
  // Filled in by the issue that owns this command.
}
