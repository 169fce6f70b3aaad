/**
 * Viewer-session codes and revocations in the control table (DynamoDB). A code is one item keyed
 * by its hash, carrying its grant and the table's TTL attribute; exchanging it is one conditional
 * DeleteItem returning the old item, so it works once even under concurrent exchanges, and never
 * after its expiry (TTL deletes lazily: the condition checks the time). Revocations are one item
 * per tenant and one per person, holding the latest "issued until" second.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CONTROL_TABLE } from '../config/tables.ts';
import { CONTROL_KEY_ATTRIBUTES, sessionCodeKey, sessionRevocationKey } from '../domain/control-keys.ts';
import type { SessionGrant, SessionRevocations } from '../domain/session-token.ts';
import type { SessionStore } from '../usecases/ports/sessions.ts';

const TTL = CONTROL_TABLE.ttlAttribute;
/** Revocation items outlive the longest session by this much, then TTL may drop them. */
const REVOCATION_KEEP_SECONDS = 2 * 86_400;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async saveCode(codeHash: string, grant: SessionGrant): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...sessionCodeKey(codeHash), ...grant, [TTL]: grant.code_expires_at },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async consumeCode(codeHash: string, nowSeconds: number): Promise<SessionGrant | null> {
    try {
      const out = await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: sessionCodeKey(codeHash),
          ConditionExpression: 'attribute_exists(pk) AND #ttl > :now',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: { ':now': nowSeconds },
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (out.Attributes === undefined) return null;
      const grant = Object.fromEntries(
        Object.entries(out.Attributes).filter(
          ([name]) => name !== TTL && !CONTROL_KEY_ATTRIBUTES.includes(name),
        ),
      ) as unknown as SessionGrant;
      return { ...grant, team_ids: grant.team_ids ?? [] };
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async revoke(tenantId: string, userId: string | null, atSeconds: number): Promise<void> {
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: sessionRevocationKey(tenantId, userId),
          // Never moves back: a retried or late revoke keeps the latest time.
          UpdateExpression: 'SET revoked_until = :at, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(revoked_until) OR revoked_until <= :at',
          ExpressionAttributeNames: { '#ttl': TTL },
          ExpressionAttributeValues: { ':at': atSeconds, ':ttl': atSeconds + REVOCATION_KEEP_SECONDS },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailure(error)) throw error;
      });
  }

  async revocations(tenantId: string, userId: string): Promise<SessionRevocations> {
    const read = async (key: ReturnType<typeof sessionRevocationKey>): Promise<number | null> => {
      const out = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      const at = out.Item?.revoked_until;
      return typeof at === 'number' ? at : null;
    };
    const [tenant, user] = await Promise.all([
      read(sessionRevocationKey(tenantId, null)),
      read(sessionRevocationKey(tenantId, userId)),
    ]);
    return { tenant, user };
  }
}
