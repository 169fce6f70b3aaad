/**
 * Parses a request's body or query with its zod schema; anything invalid is a 400 naming each bad
 * field (ValidationError). An absent body parses as `{}`, so a missing field is named, not the body.
 */
import type * as z from 'zod';
import { toFieldErrors } from '../domain/event.ts';
import { ValidationError } from '../errors.ts';

export const parseInput = <S extends z.ZodType>(schema: S, value: unknown): z.output<S> => {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ValidationError(toFieldErrors(result.error));
  return result.data;
};
