import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glueTableInput } from '../../src/cloud/glue-catalog.js';
import { EVENTS_COLUMNS, strataTables } from '../../src/cloud/glue-schema.js';
import { readConfig } from '../lib/config.js';
import { cfnTableInput } from '../lib/glue-tables.js';
import { StrataStack } from '../lib/strata-stack.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'strata-cdk-'));
/** A stand-in for the packaged Lambda folder: a handler file, package.json, node_modules. */
const packaged = path.join(tmp, 'lambda');
mkdirSync(path.join(packaged, 'cloud'), { recursive: true });
mkdirSync(path.join(packaged, 'node_modules'));
writeFileSync(path.join(packaged, 'cloud', 'lambda-etl.js'), 'export const handler = async () => ({});\n');
writeFileSync(path.join(packaged, 'package.json'), '{"type":"module"}\n');
const bare = path.join(tmp, 'bare');
mkdirSync(bare);
writeFileSync(path.join(bare, 'index.js'), '\n');

function synth(context: Record<string, string>, name = 'Strata') {
  // The built-in CloudFormation validation takes ~25 s a stack; `cdk synth` still runs it.
  const app = new App({ outdir: path.join(tmp, `out-${name}`), builtinCloudFormationValidation: false });
  const config = readConfig((key) => ({ lambdaCode: packaged, ...context })[key]);
  const stack = new StrataStack(app, name, { config, env: { account: '123456789012', region: 'eu-west-1' } });
  return { stack, template: Template.fromStack(stack) };
}

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };
const statementsOf = (template: Template, type: 'AWS::IAM::Policy' | 'AWS::IAM::ManagedPolicy'): [string, Statement[]][] =>
  Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement]);
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
/** `{ "Fn::Join": ["", [{ "Fn::GetAtt": ["RawBucket…", "Arn"] }, "/*"]] }` -> "RawBucket/*", for reading policies. */
function resourceText(r: unknown): string {
  if (Array.isArray(r)) return r.map(resourceText).join(' | ');
  if (typeof r === 'string') return r;
  const o = r as Record<string, unknown>;
  if (o['Fn::GetAtt']) return (o['Fn::GetAtt'] as string[])[0]!.replace(/[0-9A-F]{8}$/, '');
  if (o.Ref) return String(o.Ref).replace(/[0-9A-F]{8}$/, '');
  if (o['Fn::Join']) return ((o['Fn::Join'] as [string, unknown[]])[1]).map(resourceText).join('');
  return JSON.stringify(r);
}

let defaults: ReturnType<typeof synth>;
let custom: ReturnType<typeof synth>;

beforeAll(() => {
  defaults = synth({});
  custom = synth(
    {
      rawBucketName: 'acme-strata-raw',
      analyticsBucketName: 'acme-strata-analytics',
      stagingDatabase: 'acme_raw',
      analyticsDatabase: 'acme_gold',
      athenaWorkgroup: 'acme',
      encryption: 'kms',
      removal: 'destroy',
      producerEnabled: 'false',
      quarantineDays: '0',
      etlReservedConcurrency: 'none',
      etlSchedule: 'rate(1 hour)',
      projectionYears: '2025,2030',
      lambdaRuntime: 'nodejs22.x',
    },
    'Custom',
  );
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('buckets', () => {
  it('are encrypted, private, TLS-only and kept on destroy by default', () => {
    const t = defaults.template;
    t.resourceCountIs('AWS::S3::Bucket', 2);
    t.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    for (const bucket of Object.values(t.findResources('AWS::S3::Bucket'))) expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.resourceCountIs('AWS::S3::BucketPolicy', 2);
    t.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
        ]),
      },
    });
    expect(Object.keys(t.findResources('AWS::S3::Bucket')).some((id) => id.startsWith('RawBucket'))).toBe(true);
  });

  it('move old bronze to Standard-IA, expire quarantine and Athena results', () => {
    const t = defaults.template;
    const rules = (prefix: string) =>
      Object.entries(t.findResources('AWS::S3::Bucket')).find(([id]) => id.startsWith(prefix))![1].Properties.LifecycleConfiguration.Rules;
    expect(rules('RawBucket')).toEqual([
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Id: 'bronze-to-infrequent-access', Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }], Status: 'Enabled' },
    ]);
    expect(rules('AnalyticsBucket')).toEqual([
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Id: 'expire-athena-results', Prefix: 'athena-results/', ExpirationInDays: 7, Status: 'Enabled' },
      { Id: 'expire-quarantine', Prefix: 'quarantine/', ExpirationInDays: 90, Status: 'Enabled' },
    ]);
  });

  it('take names, a KMS key and destroy-on-delete from context', () => {
    const t = custom.template;
    t.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-strata-raw' });
    t.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-strata-analytics' });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.allResourcesProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] },
    });
    for (const bucket of Object.values(t.findResources('AWS::S3::Bucket'))) expect(bucket).toMatchObject({ DeletionPolicy: 'Delete' });
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    const analytics = Object.values(t.findResources('AWS::S3::Bucket', { Properties: { BucketName: 'acme-strata-analytics' } }))[0]!;
    expect(JSON.stringify(analytics)).not.toContain('quarantine/');
  });
});

describe('Glue catalog', () => {
  it('has both databases and the three tables, each after its database', () => {
    const t = defaults.template;
    t.hasResourceProperties('AWS::Glue::Database', { CatalogId: '123456789012', DatabaseInput: { Name: 'strata_staging' } });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'strata_analytics' } });
    const tables = Object.values(t.findResources('AWS::Glue::Table'));
    expect(tables.map((r) => `${r.Properties.DatabaseName}.${r.Properties.TableInput.Name}`)).toEqual([
      'strata_staging.bronze_events',
      'strata_analytics.events',
      'strata_analytics.quarantine',
    ]);
    for (const table of tables) expect(table.DependsOn).toHaveLength(1);
  });

  it('defines events with the shared columns, partition keys, SerDe and projection over the analytics bucket', () => {
    const t = defaults.template;
    const events = Object.values(t.findResources('AWS::Glue::Table')).find((r) => r.Properties.TableInput.Name === 'events')!.Properties.TableInput;
    expect(events.StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [c.Name, c.Type])).toEqual(EVENTS_COLUMNS.map((c) => [c.name, c.type]));
    expect(events.PartitionKeys.map((c: { Name: string }) => c.Name)).toEqual(['year', 'month', 'day', 'hour']);
    expect(events.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(resourceText(events.StorageDescriptor.Location)).toBe('s3://AnalyticsBucket/events/');
    expect(resourceText(events.Parameters['storage.location.template'])).toBe('s3://AnalyticsBucket/events/year=${year}/month=${month}/day=${day}/hour=${hour}/');
    expect(events.Parameters).toMatchObject({ 'projection.enabled': 'true', 'projection.year.range': '2020,2039', 'projection.hour.digits': '2' });
    const bronze = Object.values(t.findResources('AWS::Glue::Table')).find((r) => r.Properties.TableInput.Name === 'bronze_events')!.Properties.TableInput;
    expect(bronze.StorageDescriptor.SerdeInfo).toEqual({ SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', Parameters: { 'ignore.malformed.json': 'true' } });
    expect(resourceText(bronze.StorageDescriptor.Location)).toBe('s3://RawBucket/');
  });

  it('uses the context’s database names and projection years', () => {
    const t = custom.template;
    const tables = Object.values(t.findResources('AWS::Glue::Table'));
    expect(tables.map((r) => r.Properties.DatabaseName)).toEqual(['acme_raw', 'acme_gold', 'acme_gold']);
    expect(tables[1]!.Properties.TableInput.Parameters['projection.year.range']).toBe('2025,2030');
  });

  it('cannot drift from `strata catalog sync`: CloudFormation and SDK inputs are the same definition', () => {
    const toPascal = (v: unknown, inParameters = false): unknown => {
      if (Array.isArray(v)) return v.map((x) => toPascal(x));
      if (v === null || typeof v !== 'object') return v;
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [inParameters ? k : k[0]!.toUpperCase() + k.slice(1), toPascal(x, !inParameters && k === 'parameters')]),
      );
    };
    const layout = { bronzeLocation: 's3://raw/', warehouseLocation: 's3://wh/x/', stagingDatabase: 'st', analyticsDatabase: 'an' };
    for (const table of strataTables(layout)) expect(toPascal(cfnTableInput(table))).toEqual(glueTableInput(table));
  });
});

describe('Athena workgroup', () => {
  it('enforces its configuration and writes results under athena-results/ of the analytics bucket', () => {
    const wg = Object.values(defaults.template.findResources('AWS::Athena::WorkGroup'))[0]!.Properties;
    expect(wg).toMatchObject({
      Name: 'strata',
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      },
    });
    expect(resourceText(wg.WorkGroupConfiguration.ResultConfiguration.OutputLocation)).toBe('s3://AnalyticsBucket/athena-results/');
    const custom_ = Object.values(custom.template.findResources('AWS::Athena::WorkGroup'))[0]!.Properties;
    expect(custom_.Name).toBe('acme');
    expect(custom_.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.EncryptionOption).toBe('SSE_KMS');
  });
});

describe('Lambda functions and schedules', () => {
  const fn = (t: Template, handler: string) =>
    Object.values(t.findResources('AWS::Lambda::Function')).find((r) => r.Properties.Handler === handler)!.Properties;

  it('runs the producer every 5 minutes with the bronze root and SPEC batch sizes', () => {
    const t = defaults.template;
    const producer = fn(t, 'cloud/lambda-producer.handler');
    expect(producer).toMatchObject({ Runtime: 'nodejs20.x', Architectures: ['x86_64'], MemorySize: 2048, Timeout: 240 });
    expect(producer.Environment.Variables).toMatchObject({ STRATA_INTERVAL: '5m', STRATA_MIN_EVENTS: '500000', STRATA_MAX_EVENTS: '750000', STRATA_FAULT_RATE: '0.01' });
    expect(resourceText(producer.Environment.Variables.STRATA_BRONZE)).toBe('s3://RawBucket');
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Producer'), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
  });

  it('runs the ETL every 15 minutes and compaction nightly, one at a time, with 15 minutes and 10 GB of /tmp', () => {
    const t = defaults.template;
    const etl = fn(t, 'cloud/lambda-etl.handler');
    expect(etl).toMatchObject({ Runtime: 'nodejs20.x', MemorySize: 4096, Timeout: 900, EphemeralStorage: { Size: 10240 }, ReservedConcurrentExecutions: 1 });
    expect(Object.keys(etl.Environment.Variables).sort()).toEqual(
      ['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'HOME', 'NODE_OPTIONS', 'STRATA_BRONZE', 'STRATA_LOCK_WAIT', 'STRATA_TMPDIR', 'STRATA_WAREHOUSE'],
    );
    expect(resourceText(etl.Environment.Variables.STRATA_WAREHOUSE)).toBe('s3://AnalyticsBucket');
    const etlTarget = { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Etl'), 'Arn'] } };
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)', Targets: [Match.objectLike({ ...etlTarget, Input: '{"action":"etl"}' })] });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(30 3 * * ? *)', Targets: [Match.objectLike({ ...etlTarget, Input: '{"action":"compact"}' })] });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: Match.stringLikeRegexp('^Etl') }, MaximumRetryAttempts: 0 });
    t.resourceCountIs('AWS::Lambda::Permission', 3);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1 });
  });

  it('logs to groups with a retention', () => {
    defaults.template.resourceCountIs('AWS::Logs::LogGroup', 2);
    defaults.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('follows the context: no producer, no reserved concurrency, another schedule and runtime', () => {
    const t = custom.template;
    t.resourceCountIs('AWS::Lambda::Function', 2); // the ETL and CDK's auto-delete handler
    expect(Object.values(t.findResources('AWS::Lambda::Function')).some((r) => r.Properties.Handler === 'cloud/lambda-producer.handler')).toBe(false);
    const etl = fn(t, 'cloud/lambda-etl.handler');
    expect(etl.Runtime).toBe('nodejs22.x');
    expect(etl.ReservedConcurrentExecutions).toBeUndefined();
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
  });
});

describe('IAM', () => {
  it('gives the producer conditional PUTs on bronze (plus the HEAD generate() makes) and nothing else', () => {
    const [, statements] = statementsOf(defaults.template, 'AWS::IAM::Policy').find(([id]) => id.startsWith('ProducerRole'))!;
    expect(statements.map((s) => [s.Sid, actions(s), resourceText(s.Resource)])).toEqual([
      ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], 'ProducerLogs'],
      ['WriteBronze', ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], 'RawBucket/*'],
      ['ListBronze', ['s3:ListBucket'], 'RawBucket'],
    ]);
  });

  it('lets the ETL read bronze and read and write the warehouse, and nothing else', () => {
    const [, statements] = statementsOf(defaults.template, 'AWS::IAM::Policy').find(([id]) => id.startsWith('EtlRole'))!;
    expect(statements.map((s) => [s.Sid, actions(s), resourceText(s.Resource)])).toEqual([
      ['WriteOwnLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], 'EtlLogs'],
      ['ReadBronze', ['s3:GetObject'], 'RawBucket/*'],
      ['ListBronze', ['s3:ListBucket'], 'RawBucket'],
      ['ReadWriteWarehouse', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'], 'AnalyticsBucket/*'],
      ['ListWarehouse', ['s3:ListBucket'], 'AnalyticsBucket'],
    ]);
  });

  it('has no wildcard action and no resource "*" in any policy, and no managed policy on the function roles', () => {
    for (const template of [defaults.template, custom.template]) {
      for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'] as const) {
        for (const [id, statements] of statementsOf(template, type)) {
          for (const s of statements) {
            if (id.startsWith('CustomS3AutoDeleteObjects')) continue; // CDK's own handler
            expect(actions(s).filter((a) => a.includes('*')), `${id} ${s.Sid}`).toEqual([]);
            expect(JSON.stringify(s.Resource), `${id} ${s.Sid}`).not.toBe('"*"');
          }
        }
      }
      for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
        if (id.startsWith('ProducerRole') || id.startsWith('EtlRole')) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    }
  });

  it('adds the data key to the ETL role with KMS', () => {
    const [, statements] = statementsOf(custom.template, 'AWS::IAM::Policy').find(([id]) => id.startsWith('EtlRole'))!;
    const use = statements.find((s) => s.Sid === 'UseDataKey')!;
    expect([actions(use), resourceText(use.Resource)]).toEqual([['kms:GenerateDataKey', 'kms:Decrypt'], 'DataKey']);
  });

  it('offers an analyst policy scoped to the workgroup, the three tables and the data prefixes', () => {
    const [, statements] = statementsOf(defaults.template, 'AWS::IAM::ManagedPolicy')[0]!;
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, resourceText(s.Resource)]));
    expect(bySid.RunQueries).toBe('arn:AWS::Partition:athena:eu-west-1:123456789012:workgroup/strata');
    expect(bySid.ReadCatalog).toContain('table/strata_analytics/events');
    expect(bySid.ReadData).toBe('RawBucket/* | AnalyticsBucket/events/* | AnalyticsBucket/quarantine/*');
    expect(bySid.QueryResults).toBe('AnalyticsBucket/athena-results/*');
  });
});

describe('configuration', () => {
  it('outputs what the CLI needs', () => {
    const outputs = defaults.template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      ['AnalystPolicyArn', 'AthenaDatabase', 'AthenaResults', 'AthenaWorkgroup', 'BronzeUri', 'EtlFunction', 'ProducerFunction', 'WarehouseUri'],
    );
    expect(outputs.AthenaDatabase!.Value).toBe('strata_analytics');
  });

  it('warns, at synth, when the Lambda folder is not packaged', () => {
    const app = new App({ outdir: path.join(tmp, 'out-bare'), builtinCloudFormationValidation: false });
    const stack = new StrataStack(app, 'Bare', { config: readConfig((key) => ({ lambdaCode: bare, producerEnabled: 'false' })[key]) });
    Annotations.fromStack(stack).hasWarning('/Bare', Match.stringLikeRegexp('lacks package.json'));
    expect(() => new StrataStack(new App({ outdir: path.join(tmp, 'out-missing') }), 'Missing', { config: readConfig((key) => ({ lambdaCode: path.join(tmp, 'nope') })[key]) })).toThrow(/does not exist/);
  });

  it('refuses bad context values with the key named', () => {
    const bad = (context: Record<string, string>) => () => readConfig((key) => context[key]);
    expect(bad({ encryption: 'rot13' })).toThrow(/context encryption: expected one of s3, kms/);
    expect(bad({ analyticsDatabase: 'Gold-DB' })).toThrow(/context analyticsDatabase/);
    expect(bad({ bronzeIaDays: '7' })).toThrow(/30 days at the earliest/);
    expect(bad({ etlMemoryMb: '20000' })).toThrow(/context etlMemoryMb/);
    expect(bad({ producerSchedule: 'every 5 minutes' })).toThrow(/rate\(\.\.\.\) or cron/);
    expect(bad({ projectionYears: '2030,2020' })).toThrow(/projectionYears/);
    expect(bad({ minEvents: '10', maxEvents: '5' })).toThrow(/minEvents/);
  });
});
