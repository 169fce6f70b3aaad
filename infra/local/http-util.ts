/**
 * Small HTTP helpers shared by the local fake AWS endpoints.
 */
import type { IncomingMessage } from 'node:http';

/** The request body, or undefined when it exceeds `limit` bytes (the rest is drained, not kept). */
export const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
