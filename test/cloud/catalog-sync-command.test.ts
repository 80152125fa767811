import { CreateTableCommand, EntityNotFoundException, GetDatabaseCommand, GetTableCommand, GlueClient, UpdateTableCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerCatalogSync } from '../../src/cloud/catalog-sync-command.js';

const glue = mockClient(GlueClient);
const regions: (string | undefined)[] = [];

async function run(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const saved = { ...process.env };
  delete process.env.STRATA_BRONZE;
  delete process.env.STRATA_WAREHOUSE;
  Object.assign(process.env, env);
  try {
    const program = new Command('strata').exitOverride();
    const catalog = program.command('catalog');
    registerCatalogSync(catalog, (region) => {
      regions.push(region);
      return new GlueClient({ region: region ?? 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    });
    await program.parseAsync(['node', 'strata', 'catalog', 'sync', ...args]);
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    process.exitCode = undefined;
    process.env = saved;
    out.mockRestore();
    err.mockRestore();
  }
}

beforeEach(() => {
  glue.reset();
  regions.length = 0;
  glue.on(GetDatabaseCommand).resolves({}).on(GetTableCommand).rejects(new EntityNotFoundException({ message: 'x', $metadata: {} }));
  glue.on(CreateTableCommand).resolves({}).on(UpdateTableCommand).resolves({});
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => glue.restore());

describe('strata catalog sync --target glue', () => {
  it('syncs the roots given as options, in the given region and databases', async () => {
    const result = await run(['--target', 'glue', '--bronze', 's3://raw/b', '--warehouse', 's3://whse', '--staging-db', 'st', '--analytics-db', 'an', '--region', 'eu-west-1']);
    expect(result.exitCode).toBe(0);
    expect(regions).toEqual(['eu-west-1']);
    expect(result.stdout).toContain('glue table st.bronze_events (s3://raw/b/): created');
    expect(result.stdout).toContain('glue table an.events (s3://whse/events/): created');
    expect(glue.commandCalls(CreateTableCommand).map((c) => c.args[0].input.DatabaseName)).toEqual(['st', 'an', 'an']);
  });

  it('takes the roots from STRATA_BRONZE and STRATA_WAREHOUSE and prints JSON', async () => {
    const result = await run(['--target', 'glue', '--json', '--years', '2024,2030'], { STRATA_BRONZE: 's3://raw', STRATA_WAREHOUSE: 's3://whse/x' });
    expect(result.exitCode).toBe(0);
    const parsed = JSON.parse(result.stdout) as { tables: { name: string; location: string }[] };
    expect(parsed.tables.map((t) => t.location)).toEqual(['s3://raw/', 's3://whse/x/events/', 's3://whse/x/quarantine/']);
    const events = glue.commandCalls(CreateTableCommand)[1]!.args[0].input.TableInput!;
    expect(events.Parameters?.['projection.year.range']).toBe('2024,2030');
  });

  it('fails with one line for a local root, another target or bad years', async () => {
    const local = await run(['--target', 'glue', '--bronze', './data/bronze', '--warehouse', 's3://whse']);
    expect(local.exitCode).toBe(2);
    expect(local.stderr).toMatch(/^strata: --bronze must be an S3 URI.*\n$/);
    const target = await run(['--target', 'hive', '--bronze', 's3://raw', '--warehouse', 's3://whse']);
    expect(target.stderr).toBe('strata: --target: only "glue" is supported, got "hive"\n');
    const years = await run(['--target', 'glue', '--bronze', 's3://raw', '--warehouse', 's3://whse', '--years', '2030,2020']);
    expect(years.stderr).toMatch(/--years: expected FIRST,LAST/);
    expect(glue.calls()).toHaveLength(0);
  });
});
