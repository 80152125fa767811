import {
  AlreadyExistsException,
  CreateDatabaseCommand,
  CreateTableCommand,
  EntityNotFoundException,
  GetDatabaseCommand,
  GetTableCommand,
  type GlueClient,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { UserError } from '../errors.js';
import { awsUserError, errorName } from './aws-errors.js';
import {
  type CatalogLayout,
  DEFAULT_ANALYTICS_DATABASE,
  DEFAULT_STAGING_DATABASE,
  type GlueTableDefinition,
  strataDatabases,
  strataTables,
} from './glue-schema.js';

export interface GlueSyncOptions {
  /** s3://bucket/prefix of the bronze root. */
  readonly bronze: string;
  /** s3://bucket/prefix of the warehouse root. */
  readonly warehouse: string;
  readonly stagingDatabase?: string;
  readonly analyticsDatabase?: string;
  /** Data Catalog id (account id); the caller's account when absent. */
  readonly catalogId?: string;
  readonly firstYear?: number;
  readonly lastYear?: number;
}

export type SyncAction = 'created' | 'updated' | 'unchanged';

export interface GlueSyncResult {
  readonly databases: readonly { name: string; action: SyncAction }[];
  readonly tables: readonly { database: string; name: string; location: string; action: SyncAction }[];
}

/** `s3://bucket/a/b` -> `s3://bucket/a/b/`; anything that is not an S3 URI is the user's mistake. */
export function s3Location(uri: string, option: string): string {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(uri.trim());
  if (!match) throw new UserError(`${option} must be an S3 URI like s3://bucket/prefix for the Glue catalog, got ${JSON.stringify(uri)}`);
  const prefix = (match[2] ?? '').split('/').filter((part) => part !== '');
  if (prefix.some((part) => part === '.' || part === '..')) throw new UserError(`${option}: S3 prefix may not contain '.' or '..': ${uri}`);
  return `s3://${match[1]}/${prefix.map((p) => `${p}/`).join('')}`;
}

/** Glue names: lower-case letters, digits and underscores (what Athena can query without quoting). */
function checkDatabaseName(name: string, option: string): string {
  if (!/^[a-z0-9_]{1,255}$/.test(name)) {
    throw new UserError(`${option} must be lower-case letters, digits and underscores, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function catalogLayout(options: GlueSyncOptions): CatalogLayout {
  return Object.freeze({
    bronzeLocation: s3Location(options.bronze, '--bronze'),
    warehouseLocation: s3Location(options.warehouse, '--warehouse'),
    stagingDatabase: checkDatabaseName(options.stagingDatabase ?? DEFAULT_STAGING_DATABASE, '--staging-db'),
    analyticsDatabase: checkDatabaseName(options.analyticsDatabase ?? DEFAULT_ANALYTICS_DATABASE, '--analytics-db'),
    ...(options.firstYear === undefined ? {} : { firstYear: options.firstYear }),
    ...(options.lastYear === undefined ? {} : { lastYear: options.lastYear }),
  });
}

/** The SDK's TableInput of a definition (PascalCase; the CDK builds the camelCase twin). */
export function glueTableInput(table: GlueTableDefinition): TableInput {
  const column = (c: { name: string; type: string; comment?: string }) =>
    c.comment === undefined ? { Name: c.name, Type: c.type } : { Name: c.name, Type: c.type, Comment: c.comment };
  return {
    Name: table.name,
    Description: table.description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: { ...table.parameters },
    PartitionKeys: table.partitionKeys.map(column),
    StorageDescriptor: {
      Columns: table.columns.map(column),
      Location: table.location,
      InputFormat: table.inputFormat,
      OutputFormat: table.outputFormat,
      Compressed: false,
      StoredAsSubDirectories: false,
      SerdeInfo: { SerializationLibrary: table.serializationLibrary, Parameters: { ...table.serdeParameters } },
    },
  };
}

const isNotFound = (err: unknown): boolean => err instanceof EntityNotFoundException || errorName(err) === 'EntityNotFoundException';
const isAlreadyExists = (err: unknown): boolean => err instanceof AlreadyExistsException || errorName(err) === 'AlreadyExistsException';

/**
 * Creates or updates strata's Glue databases and tables so Athena can query bronze and silver.
 * Idempotent: a database that exists is left alone; a table that exists is updated in place to
 * the current definition (without archiving a table version each time), one that does not is
 * created. Partitions are never registered: every table uses partition projection, so new hours
 * are queryable as soon as their files exist.
 */
export async function syncGlueCatalog(client: GlueClient, options: GlueSyncOptions): Promise<GlueSyncResult> {
  const layout = catalogLayout(options);
  const catalog = options.catalogId === undefined ? {} : { CatalogId: options.catalogId };
  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw awsUserError(action, err);
    }
  };

  const databases: { name: string; action: SyncAction }[] = [];
  for (const db of strataDatabases(layout)) {
    const exists = await call(`glue:GetDatabase ${db.name}`, async () => {
      try {
        await client.send(new GetDatabaseCommand({ ...catalog, Name: db.name }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
    if (exists) {
      databases.push({ name: db.name, action: 'unchanged' });
      continue;
    }
    const created = await call(`glue:CreateDatabase ${db.name}`, async () => {
      try {
        await client.send(new CreateDatabaseCommand({ ...catalog, DatabaseInput: { Name: db.name, Description: db.description } }));
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false; // another sync won the race
        throw err;
      }
    });
    databases.push({ name: db.name, action: created ? 'created' : 'unchanged' });
  }

  const tables: { database: string; name: string; location: string; action: SyncAction }[] = [];
  for (const table of strataTables(layout)) {
    const target = `${table.databaseName}.${table.name}`;
    const input = glueTableInput(table);
    const exists = await call(`glue:GetTable ${target}`, async () => {
      try {
        await client.send(new GetTableCommand({ ...catalog, DatabaseName: table.databaseName, Name: table.name }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    });
    let action: SyncAction = 'updated';
    if (!exists) {
      const created = await call(`glue:CreateTable ${target}`, async () => {
        try {
          await client.send(new CreateTableCommand({ ...catalog, DatabaseName: table.databaseName, TableInput: input }));
          return true;
        } catch (err) {
          if (isAlreadyExists(err)) return false;
          throw err;
        }
      });
      if (created) action = 'created';
    }
    if (action === 'updated') {
      await call(`glue:UpdateTable ${target}`, () =>
        client.send(new UpdateTableCommand({ ...catalog, DatabaseName: table.databaseName, TableInput: input, SkipArchive: true })),
      );
    }
    tables.push({ database: table.databaseName, name: table.name, location: table.location, action });
  }
  return { databases, tables };
}
