/**
 * Translates a TableDefinition of shared/config/tables.ts into CDK key attributes and GSIs, so
 * both tables take their key names, types and indexes from the one definition.
 */
import {
  type Attribute,
  AttributeType,
  type GlobalSecondaryIndexPropsV2,
  ProjectionType,
} from 'aws-cdk-lib/aws-dynamodb';
import { attributeType, type TableDefinition } from '#shared/config/tables.ts';

export const keyAttribute = (name: string): Attribute => ({
  name,
  type: attributeType(name) === 'N' ? AttributeType.NUMBER : AttributeType.STRING,
});

/** Each index projects what its definition names (INCLUDE; none = KEYS_ONLY), so a list query needs no second read per item. */
export const globalIndexes = (definition: TableDefinition): GlobalSecondaryIndexPropsV2[] =>
  Object.values(definition.indexes).map((index) => ({
    indexName: index.name,
    partitionKey: keyAttribute(index.partitionKey),
    sortKey: keyAttribute(index.sortKey),
    ...(index.projection.length === 0
      ? { projectionType: ProjectionType.KEYS_ONLY }
      : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] }),
  }));
