import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Size, Stack, type StackProps } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { BRONZE_TABLE, EVENTS_TABLE, QUARANTINE_TABLE } from '../../src/cloud/glue-schema.js';
import type { StrataConfig } from './config.js';
import { StrataCatalog } from './glue-tables.js';

export interface StrataStackProps extends StackProps {
  readonly config: StrataConfig;
}

const ATHENA_RESULTS_PREFIX = 'athena-results/';
const QUARANTINE_PREFIX = 'quarantine/';

/**
 * strata on AWS: two buckets (bronze, and the warehouse with Athena's results), the Glue catalog,
 * an Athena workgroup, and two scheduled Lambda functions running the same code as the CLI.
 *
 * Why the ETL is a Lambda function and not a Fargate task: one 5-minute batch (500k-750k events,
 * ~33 MB of gzip) takes about 3 s on a developer laptop and 27 s on a 2-vCPU sandbox, peaking at
 * ~700 MB of memory. A run every 15 minutes takes three batches: one to two minutes on Lambda's
 * ~2.3 vCPUs at 4 GB, far below its 15-minute limit; 10 GB of /tmp holds a run's staged Parquet.
 * Lambda has no cluster, VPC or image to keep and costs nothing between runs. Fargate (or a per-run
 * file cap in runEtl) becomes necessary when one run can outgrow 15 minutes: runEtl takes every
 * waiting file at once, so a backlog of more than ~30 batches (2.5 hours of outage at the slow
 * figure) would time out on every tick; raise etlMemoryMb (up to 6 vCPUs) and run `strata etl`
 * from a larger machine once to catch up.
 */
export class StrataStack extends Stack {
  readonly rawBucket: s3.Bucket;
  readonly analyticsBucket: s3.Bucket;
  readonly producer: lambda.Function | undefined;
  readonly etl: lambda.Function;
  readonly catalog: StrataCatalog;

  constructor(scope: Construct, id: string, props: StrataStackProps) {
    super(scope, id, props);
    const config = props.config;
    const destroy = config.removal === 'destroy';
    const removalPolicy = destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const key =
      config.encryption === 'kms'
        ? new kms.Key(this, 'DataKey', { description: 'strata buckets and Athena results', enableKeyRotation: true, removalPolicy })
        : undefined;
    const bucketProps = (name: string | undefined): s3.BucketProps => ({
      ...(name === undefined ? {} : { bucketName: name }),
      ...(key === undefined ? { encryption: s3.BucketEncryption.S3_MANAGED } : { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: destroy,
    });

    // Bronze: raw batches, written once, read once by the ETL, then kept for replay and audit.
    this.rawBucket = new s3.Bucket(this, 'RawBucket', {
      ...bucketProps(config.rawBucketName),
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(config.bronzeIaDays > 0
          ? [{ id: 'bronze-to-infrequent-access', transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(config.bronzeIaDays) }] }]
          : []),
      ],
    });

    // Warehouse: events/, quarantine/, _strata/ (ledger), and Athena's result files.
    this.analyticsBucket = new s3.Bucket(this, 'AnalyticsBucket', {
      ...bucketProps(config.analyticsBucketName),
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'expire-athena-results', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(config.athenaResultsDays) },
        ...(config.quarantineDays > 0 ? [{ id: 'expire-quarantine', prefix: QUARANTINE_PREFIX, expiration: Duration.days(config.quarantineDays) }] : []),
      ],
    });

    const bronzeUri = `s3://${this.rawBucket.bucketName}`;
    const warehouseUri = `s3://${this.analyticsBucket.bucketName}`;

    const catalog = new StrataCatalog(this, 'Catalog', {
      bronzeLocation: `${bronzeUri}/`,
      warehouseLocation: `${warehouseUri}/`,
      stagingDatabase: config.stagingDatabase,
      analyticsDatabase: config.analyticsDatabase,
      firstYear: config.firstYear,
      lastYear: config.lastYear,
    });

    const workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: config.athenaWorkgroup,
      description: 'strata: queries over bronze_events, events and quarantine',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: config.athenaScanLimitBytes,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `${warehouseUri}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: key === undefined ? { encryptionOption: 'SSE_S3' } : { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });

    // ---- Lambda functions ------------------------------------------------------------------
    this.checkLambdaCode(config.lambdaCode);
    const code = lambda.Code.fromAsset(config.lambdaCode);
    const runtime = { 'nodejs20.x': lambda.Runtime.NODEJS_20_X, 'nodejs22.x': lambda.Runtime.NODEJS_22_X, 'nodejs24.x': lambda.Runtime.NODEJS_24_X }[config.lambdaRuntime];
    const architecture = config.lambdaArchitecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const commonEnv = {
      STRATA_BRONZE: bronzeUri,
      STRATA_WAREHOUSE: warehouseUri,
      STRATA_TMPDIR: '/tmp',
      HOME: '/tmp', // DuckDB keeps its home directory there; /var/task is read-only
      NODE_OPTIONS: '--enable-source-maps',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const objects = (bucket: s3.IBucket, prefix = '*') => bucket.arnForObjects(prefix);

    /** A role that may write its own log group and nothing else until granted. */
    const functionRole = (name: string, logGroup: logs.LogGroup): iam.Role => {
      const role = new iam.Role(this, `${name}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] /* ends with :*, covering its streams */ }));
      return role;
    };
    const keyUse = (role: iam.Role, actions: string[]) => {
      if (key) role.addToPolicy(new iam.PolicyStatement({ sid: 'UseDataKey', actions, resources: [key.keyArn] }));
    };

    if (config.producerEnabled) {
      const logGroup = new logs.LogGroup(this, 'ProducerLogs', { retention: config.logDays, removalPolicy });
      const role = functionRole('Producer', logGroup);
      // generate() HEADs the batch key first (a retried batch is left alone): HEAD needs
      // s3:GetObject, and ListBucket makes a missing key a 404 instead of a 403. The write itself
      // is a conditional PUT (If-None-Match), multipart for large files.
      role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteBronze', actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], resources: [objects(this.rawBucket)] }));
      role.addToPolicy(new iam.PolicyStatement({ sid: 'ListBronze', actions: ['s3:ListBucket'], resources: [this.rawBucket.bucketArn] }));
      keyUse(role, ['kms:GenerateDataKey', 'kms:Decrypt']);
      this.producer = new lambda.Function(this, 'Producer', {
        description: 'strata producer: one batch of events into bronze per schedule tick',
        runtime,
        architecture,
        code,
        handler: 'cloud/lambda-producer.handler',
        role,
        logGroup,
        memorySize: config.producerMemoryMb,
        timeout: Duration.minutes(4),
        retryAttempts: 2, // safe: a retry regenerates the same file, which generate() leaves alone
        environment: {
          ...commonEnv,
          STRATA_INTERVAL: '5m',
          STRATA_MIN_EVENTS: String(config.minEvents),
          STRATA_MAX_EVENTS: String(config.maxEvents),
          STRATA_FAULT_RATE: String(config.faultRate),
        },
      });
      new events.Rule(this, 'ProducerSchedule', {
        description: 'strata: one producer batch per tick',
        schedule: events.Schedule.expression(config.producerSchedule),
        targets: [new targets.LambdaFunction(this.producer, { retryAttempts: 2 })],
      });
    } else {
      this.producer = undefined;
    }

    const etlLogs = new logs.LogGroup(this, 'EtlLogs', { retention: config.logDays, removalPolicy });
    const etlRole = functionRole('Etl', etlLogs);
    // HeadBucket (the root check) needs s3:ListBucket on the bucket.
    etlRole.addToPolicy(new iam.PolicyStatement({ sid: 'ReadBronze', actions: ['s3:GetObject'], resources: [objects(this.rawBucket)] }));
    etlRole.addToPolicy(new iam.PolicyStatement({ sid: 'ListBronze', actions: ['s3:ListBucket'], resources: [this.rawBucket.bucketArn] }));
    etlRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadWriteWarehouse',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [objects(this.analyticsBucket)],
      }),
    );
    etlRole.addToPolicy(new iam.PolicyStatement({ sid: 'ListWarehouse', actions: ['s3:ListBucket'], resources: [this.analyticsBucket.bucketArn] }));
    keyUse(etlRole, ['kms:GenerateDataKey', 'kms:Decrypt']);
    this.etl = new lambda.Function(this, 'Etl', {
      description: 'strata ETL: bronze -> silver and quarantine; compaction on its own schedule',
      runtime,
      architecture,
      code,
      handler: 'cloud/lambda-etl.handler',
      role: etlRole,
      logGroup: etlLogs,
      memorySize: config.etlMemoryMb,
      ephemeralStorageSize: Size.mebibytes(config.etlTmpMb),
      timeout: Duration.minutes(15),
      // One run at a time (the warehouse lock would make a second one skip anyway), and no
      // retries: the next tick takes whatever is still waiting, exactly once.
      ...(config.etlReservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.etlReservedConcurrency }),
      retryAttempts: 0,
      environment: { ...commonEnv, STRATA_LOCK_WAIT: '0s' },
    });
    new events.Rule(this, 'EtlSchedule', {
      description: 'strata: ETL of every bronze file not yet processed',
      schedule: events.Schedule.expression(config.etlSchedule),
      targets: [new targets.LambdaFunction(this.etl, { retryAttempts: 0, event: events.RuleTargetInput.fromObject({ action: 'etl' }) })],
    });
    new events.Rule(this, 'CompactSchedule', {
      description: 'strata: rewrite each hour partition holding several files into one',
      schedule: events.Schedule.expression(config.compactSchedule),
      targets: [new targets.LambdaFunction(this.etl, { retryAttempts: 0, event: events.RuleTargetInput.fromObject({ action: 'compact' }) })],
    });
    new cloudwatch.Alarm(this, 'EtlErrors', {
      alarmDescription: 'strata ETL invocations failed (see the EtlLogs log group)',
      metric: this.etl.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // ---- who may query -----------------------------------------------------------------------
    const region = Stack.of(this).region;
    const account = Stack.of(this).account;
    const glueArn = (resource: string) => `arn:${Stack.of(this).partition}:glue:${region}:${account}:${resource}`;
    const analyst = new iam.ManagedPolicy(this, 'AnalystPolicy', {
      description: 'Query strata with Athena: strata query --engine athena, or the console',
      statements: [
        new iam.PolicyStatement({
          sid: 'RunQueries',
          actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup'],
          resources: [`arn:${Stack.of(this).partition}:athena:${region}:${account}:workgroup/${config.athenaWorkgroup}`],
        }),
        new iam.PolicyStatement({
          sid: 'ReadCatalog',
          actions: ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'],
          resources: [
            glueArn('catalog'),
            glueArn(`database/${config.stagingDatabase}`),
            glueArn(`database/${config.analyticsDatabase}`),
            glueArn(`table/${config.stagingDatabase}/${BRONZE_TABLE}`),
            glueArn(`table/${config.analyticsDatabase}/${EVENTS_TABLE}`),
            glueArn(`table/${config.analyticsDatabase}/${QUARANTINE_TABLE}`),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'ReadData',
          actions: ['s3:GetObject'],
          resources: [objects(this.rawBucket), objects(this.analyticsBucket, 'events/*'), objects(this.analyticsBucket, `${QUARANTINE_PREFIX}*`)],
        }),
        new iam.PolicyStatement({ sid: 'ListData', actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [this.rawBucket.bucketArn, this.analyticsBucket.bucketArn] }),
        new iam.PolicyStatement({
          sid: 'QueryResults',
          actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
          resources: [objects(this.analyticsBucket, `${ATHENA_RESULTS_PREFIX}*`)],
        }),
        ...(key ? [new iam.PolicyStatement({ sid: 'UseDataKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key.keyArn] })] : []),
      ],
    });

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('BronzeUri', bronzeUri, 'STRATA_BRONZE / --bronze');
    out('WarehouseUri', warehouseUri, 'STRATA_WAREHOUSE / --warehouse');
    out('AthenaWorkgroup', workgroup.name, 'STRATA_ATHENA_WORKGROUP');
    out('AthenaDatabase', config.analyticsDatabase, 'STRATA_ATHENA_DATABASE');
    out('AthenaResults', `${warehouseUri}/${ATHENA_RESULTS_PREFIX}`, 'Athena result files (expire after athenaResultsDays)');
    out('EtlFunction', this.etl.functionName, 'aws lambda invoke --function-name <this> out.json');
    if (this.producer) out('ProducerFunction', this.producer.functionName, 'the scheduled producer');
    out('AnalystPolicyArn', analyst.managedPolicyArn, 'attach to the users or roles that query');
    this.catalog = catalog;
  }

  /** Synth works with any folder (tests, CI); a deploy needs the packaged one, so say so early. */
  private checkLambdaCode(folder: string): void {
    if (!existsSync(folder)) throw new Error(`lambdaCode folder ${folder} does not exist: run npm run build, or infra/scripts/package-lambda.sh`);
    const pkg = path.join(folder, 'package.json');
    const isModule = existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
    if (!isModule || !existsSync(path.join(folder, 'node_modules'))) {
      Annotations.of(this).addWarningV2(
        'strata:lambdaCode',
        `${folder} lacks package.json ("type": "module") or node_modules: fine for synth, but the functions will not start. ` +
          'Deploy with -c lambdaCode=build/lambda after infra/scripts/package-lambda.sh.',
      );
    }
  }
}
