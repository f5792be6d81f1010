/**
 * `email`: the report by SMTP with nodemailer, to the server of MC_SMTP_URL (credentials may be in the URL; it is
 * never logged) from MC_SMTP_FROM: a plain-text part (the Markdown itself) and an HTML part (rendered, raw HTML
 * disabled). The Message-ID is derived from the idempotency key, so a receiver can drop a repeat.
 * SMTP 4xx and connection errors are retried by Temporal; 5xx and authentication failures are final.
 */
import nodemailer from 'nodemailer';
import type { z } from 'zod';
import type { EmailDestination } from '../../../contracts/delivery';
import { defineDestination, deliveryFailure } from '../types';

/** `<key with : → .>@mission-control`: a valid, stable Message-ID per destination of a run. */
export const messageIdOf = (key: string) => `<${key.replace(/[^A-Za-z0-9._-]/g, '.')}@mission-control>`;

export const emailDestination = defineDestination<z.infer<typeof EmailDestination>>({
  type: 'email',
  async send(d, ctx) {
    const url = ctx.config.MC_SMTP_URL;
    if (!url) throw deliveryFailure('email delivery needs MC_SMTP_URL on the worker', { retryable: false });
    const timeout = ctx.config.MC_DELIVERY_TIMEOUT_MS;
    const transport = nodemailer.createTransport({ url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
    const abort = () => transport.close();
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      const info = await transport.sendMail({
        from: ctx.config.MC_SMTP_FROM,
        to: d.to,
        subject: d.subject ?? ctx.message.title,
        text: ctx.message.text(),
        html: ctx.message.html(),
        messageId: messageIdOf(ctx.idempotencyKey),
        headers: { 'X-MC-Delivery': ctx.idempotencyKey },
      });
      const code = /^(\d{3})/.exec(String(info.response ?? ''))?.[1];
      return { statusCode: code ? Number(code) : undefined, messageId: info.messageId };
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number };
      const final = e.code === 'EAUTH' || e.code === 'EENVELOPE' || (e.responseCode !== undefined && e.responseCode >= 500);
      throw deliveryFailure(`email delivery failed: ${e.message}`, { retryable: !final, statusCode: e.responseCode });
    } finally {
      ctx.signal.removeEventListener('abort', abort);
      transport.close();
    }
  },
});
