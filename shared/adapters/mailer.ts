/**
 * Sends notification emails through SES v2 as raw MIME. Locally the SES endpoint is the local
 * runtime's, which writes each message to the outbox folder.
 */
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { buildMime, type EmailMessage } from '../domain/email.ts';
import type { Mailer } from '../usecases/ports/exports.ts';

export class SesMailer implements Mailer {
  constructor(private readonly ses: SESv2Client) {}

  async send(message: EmailMessage): Promise<string | undefined> {
    const out = await this.ses.send(
      new SendEmailCommand({
        FromEmailAddress: message.from,
        Destination: { ToAddresses: [message.to] },
        Content: { Raw: { Data: Buffer.from(buildMime(message), 'utf8') } },
      }),
    );
    return out.MessageId;
  }
}
