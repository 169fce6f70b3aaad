/**
 * What the in-memory fakes throw when a conditional write is refused, as the real stores let
 * DynamoDB's ConditionalCheckFailedException through (same name, so code that tells it apart by
 * name sees the same thing).
 */
export class ConditionFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionalCheckFailedException';
  }
}

/** A deep copy: a store hands out and keeps copies, never the caller's objects. */
export const copy = <T>(value: T): T => structuredClone(value);
