/**
 * Production wiring of the alerts: the alert records, and the evaluation / notification deps the
 * stream router, sweeper and deliverer add to their own. Apart from wiring.ts so the ingest and
 * query bundles carry none of it.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { ENV } from '../config/env.ts';
import type { AlertNotificationQueue } from '../usecases/ports/alerts.ts';
import { DynamoAlertStore } from './alert-store.ts';
import { dynamoDocumentClient, requiredEnv } from './clients.ts';
import { deliveryQueue } from './delivery-wiring.ts';
import { SesMailer } from './mailer.ts';

export const alertStore = () => new DynamoAlertStore(dynamoDocumentClient(), requiredEnv(ENV.controlTable));

/** Notifications ride the delivery queue (the deliverer tells them from a stream's turn by `kind`). */
export const alertNotificationQueue = (): AlertNotificationQueue => deliveryQueue();

/** The origin of console links in alert messages (TRAILKEEPER_PUBLIC_URL; the local default otherwise). */
export const alertBaseUrl = (env: NodeJS.ProcessEnv = process.env): string =>
  (env[ENV.publicUrl] ?? '').trim().replace(/\/+$/, '') || `http://localhost:${env.PORT ?? '3000'}`;

/** SES for alert emails (the local runtime's SES writes `.eml` files to its outbox folder). */
export const alertMailer = () => new SesMailer(new SESv2Client({}));
export const alertEmailFrom = () =>
  process.env[ENV.emailFrom] ?? 'Trailkeeper <no-reply@trailkeeper.invalid>';
