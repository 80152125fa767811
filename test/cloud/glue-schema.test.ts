import { describe, expect, it } from 'vitest';
import * as local from '../../src/catalog/schema.js';
import { BRONZE_COLUMNS, EVENTS_COLUMNS, HOUR_PARTITION_KEYS, QUARANTINE_COLUMNS, strataTables } from '../../src/cloud/glue-schema.js';

/** DuckDB type names of the local engine's declared schema -> the Hive names Glue uses. */
function hiveType(duckdb: string): string {
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(duckdb);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  const map: Record<string, string> = { VARCHAR: 'string', TIMESTAMP: 'timestamp', INTEGER: 'int', BIGINT: 'bigint', DATE: 'date', DOUBLE: 'double' };
  if (!(duckdb in map)) throw new Error(`no Hive type for ${duckdb}`);
  return map[duckdb]!;
}

const layout = { bronzeLocation: 's3://raw/', warehouseLocation: 's3://wh/', stagingDatabase: 'st', analyticsDatabase: 'an' };

describe('Glue schema against the local engine’s declared schema (src/catalog/schema.ts)', () => {
  it('events: the same columns and types, the hour columns as partition keys', () => {
    const partitions = new Set(HOUR_PARTITION_KEYS.map((k) => k.name));
    expect(EVENTS_COLUMNS.map((c) => [c.name, c.type])).toEqual(
      local.EVENTS_COLUMNS.filter((c) => !partitions.has(c.name)).map((c) => [c.name, hiveType(c.type)]),
    );
    expect(HOUR_PARTITION_KEYS.map((c) => [c.name, c.type])).toEqual(
      local.EVENTS_COLUMNS.filter((c) => partitions.has(c.name)).map((c) => [c.name, hiveType(c.type)]),
    );
  });

  it('quarantine: the same columns and types', () => {
    expect(QUARANTINE_COLUMNS.map((c) => [c.name, c.type])).toEqual(local.QUARANTINE_COLUMNS.map((c) => [c.name, hiveType(c.type)]));
  });

  it('bronze_events: the same fields; numbers as strings, since a sloppy value would fail the OpenX SerDe', () => {
    expect(BRONZE_COLUMNS.map((c) => c.name)).toEqual(local.BRONZE_COLUMNS.map((c) => c.name));
    expect(new Set(BRONZE_COLUMNS.map((c) => c.type))).toEqual(new Set(['string']));
  });

  it('projects partitions where strata writes them (src/ledger/layout.ts, src/generate/layout.ts)', async () => {
    const { eventsFileKey, quarantineFileKey } = await import('../../src/ledger/layout.js');
    const { batchKey } = await import('../../src/generate/layout.js');
    const [bronze, events, quarantine] = strataTables(layout);
    const fill = (template: string, values: Record<string, string>) => template.replace(/\$\{(\w+)\}/g, (_, k: string) => values[k]!);
    const eventsKey = eventsFileKey({ year: 2024, month: 3, day: 5, hour: 7 }, 'r1');
    expect(`s3://wh/${eventsKey}`.startsWith(fill(events!.parameters['storage.location.template']!, { year: '2024', month: '03', day: '05', hour: '07' }))).toBe(true);
    const bronzeKey = batchKey({ seed: 's', timeMs: Date.UTC(2024, 2, 5, 7, 5), intervalMs: 300_000, minEvents: 1, maxEvents: 1, faultRate: 0 });
    const bronzeValues = { year: '2024', month: '03', day: '05', hour: '07', minute: '05' };
    expect(`s3://raw/${bronzeKey}`.startsWith(fill(bronze!.parameters['storage.location.template']!, bronzeValues))).toBe(true);
    const quarantineKey = quarantineFileKey('r1', new Date('2024-03-05T23:59:00Z'));
    expect(`s3://wh/${quarantineKey}`.startsWith(fill(quarantine!.parameters['storage.location.template']!, { ingest_date: '2024-03-05' }))).toBe(true);
  });
});
