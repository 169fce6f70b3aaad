/**
 * The Trailkeeper API client: typed methods for every route, retries that honour `Retry-After`,
 * idempotent ingest ids, cursor iteration and export polling. Runs wherever a standard `fetch`
 * does (Node 20+, browsers); it imports no Node module and carries no runtime dependency.
 */
export {
  type BatchResult,
  type IdentifiedEvent,
  type PreparedBatch,
  type SendResult,
  TrailkeeperClient,
  type TrailkeeperClientOptions,
  type WaitForExportOptions,
} from './client.ts';
export {
  ExportFailedError,
  ExportTimeoutError,
  type IdConflict,
  IdConflictError,
  TrailkeeperError,
  TrailkeeperNetworkError,
  TrailkeeperResponseError,
} from './errors.ts';
export { newClientEventId } from './ids.ts';
export type * from './inputs.ts';
export { RETRY_DEFAULTS, type RetryOptions } from './retry.ts';
export type { ApiAnswer, FetchLike, RequestOptions, RetryInfo, Sleep } from './transport.ts';
export type * from './types.ts';
