/**
 * Reading deploy-time settings from CDK context. Values arrive as strings from `-c key=value`
 * and as JSON values from `cdk.json` or tests; a value that does not parse fails synth with the
 * key's name rather than deploying something the operator did not ask for.
 */
import type { Node } from 'constructs';

/** `true`/`false` (boolean or string); absent or empty = `fallback`. */
export const contextFlag = (node: Node, key: string, fallback = false): boolean => {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
};

/** A whole number in [min, max] (number or decimal string); absent or empty = `fallback`. */
export const contextInteger = (
  node: Node,
  key: string,
  fallback: number,
  { min, max }: { min: number; max: number },
): number => {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return fallback;
  const parsed =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(
      `context ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
};

/** A string value, trimmed; absent or empty = undefined. Anything but a string fails synth. */
export const contextString = (node: Node, key: string): string | undefined => {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  return value.trim() === '' ? undefined : value.trim();
};
