import type { Command } from 'commander';

export function registerQuery(_program: Command): void {
  // Filled in by the issue that owns this command.
}
