import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import { type CatalogLayout, type GlueColumn, type GlueTableDefinition, strataDatabases, strataTables } from '../../src/cloud/glue-schema.js';

/** The CloudFormation twin of glue-catalog.ts's `glueTableInput`: same definition, camelCase keys. */
export function cfnTableInput(table: GlueTableDefinition): glue.CfnTable.TableInputProperty {
  const column = (c: GlueColumn): glue.CfnTable.ColumnProperty =>
    c.comment === undefined ? { name: c.name, type: c.type } : { name: c.name, type: c.type, comment: c.comment };
  return {
    name: table.name,
    description: table.description,
    tableType: 'EXTERNAL_TABLE',
    parameters: { ...table.parameters },
    partitionKeys: table.partitionKeys.map(column),
    storageDescriptor: {
      columns: table.columns.map(column),
      location: table.location,
      inputFormat: table.inputFormat,
      outputFormat: table.outputFormat,
      compressed: false,
      storedAsSubDirectories: false,
      serdeInfo: { serializationLibrary: table.serializationLibrary, parameters: { ...table.serdeParameters } },
    },
  };
}

/**
 * strata's Glue databases and its three tables (bronze_events, events, quarantine), built from the
 * definitions `strata catalog sync --target glue` uses, so a synced catalog and a deployed one match.
 */
export class StrataCatalog extends Construct {
  readonly databases: glue.CfnDatabase[] = [];
  readonly tables: glue.CfnTable[] = [];

  constructor(scope: Construct, id: string, layout: CatalogLayout) {
    super(scope, id);
    const account = Stack.of(this).account;
    const byName = new Map<string, glue.CfnDatabase>();
    for (const db of strataDatabases(layout)) {
      const database = new glue.CfnDatabase(this, `Database-${db.name}`, {
        catalogId: account,
        databaseInput: { name: db.name, description: db.description },
      });
      byName.set(db.name, database);
      this.databases.push(database);
    }
    for (const definition of strataTables(layout)) {
      const table = new glue.CfnTable(this, `Table-${definition.databaseName}-${definition.name}`, {
        catalogId: account,
        databaseName: definition.databaseName,
        tableInput: cfnTableInput(definition),
      });
      table.addResourceDependency(byName.get(definition.databaseName)!);
      this.tables.push(table);
    }
  }
}
