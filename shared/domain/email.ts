/**
 * Notification emails as RFC 5322 / MIME text (plain text, UTF-8, quoted-printable-free: the body
 * is base64 so any character and line length is safe). Sent raw through SES in AWS and written
 * as-is to `.data/outbox/*.eml` locally. Pure.
 */
import { randomUUID } from 'node:crypto';

export interface EmailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
}

/** RFC 2047 encoded-word for a header value that is not plain ASCII. */
const encodeHeader = (value: string): string =>
  /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;

const wrap76 = (base64: string): string => base64.replace(/.{1,76}/g, (line) => `${line}\r\n`);

/** An address header value (`a@b.c` or `Name <a@b.c>`) must stay on its line: no header injection. */
const safeAddress = (address: string): string => {
  if (/[\r\n]/.test(address)) throw new Error('invalid email address');
  return address;
};

export const buildMime = (message: EmailMessage, date = new Date()): string =>
  [
    `From: ${safeAddress(message.from)}`,
    `To: ${safeAddress(message.to)}`,
    `Subject: ${encodeHeader(message.subject.replace(/[\r\n]+/g, ' '))}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${randomUUID()}@trailkeeper>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(Buffer.from(message.text, 'utf8').toString('base64')),
  ].join('\r\n');
