import type { Command } from 'commander';

export function registerCatalog(_program: Command): void {
  // Filled in by the issue that owns this command.
}
