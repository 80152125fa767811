import { App } from 'aws-cdk-lib';
import { readConfig } from '../lib/config.js';
import { StrataStack } from '../lib/strata-stack.js';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);
new StrataStack(app, String(context('stackName') ?? 'Strata'), {
  config: readConfig(context),
  description: 'strata event analytics pipeline: buckets, Glue catalog, Athena workgroup, producer and ETL',
  // Region and account from the CLI's profile at deploy time; the template itself stays generic.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
