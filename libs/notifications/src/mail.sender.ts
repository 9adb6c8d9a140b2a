import { createTransport } from 'nodemailer';
import type { RenderedEmail } from './email';
import type { AttemptResult } from './retry';

/** Sends one email; an adapter, so the delivery rules never see SMTP. */
export interface MailSender {
  send(to: string, mail: RenderedEmail, headers: Record<string, string>): Promise<AttemptResult>;
  close(): void;
}

/**
 * SMTP through nodemailer (SMTP_URL, MAIL_FROM). Never throws: a refused or failed send is an AttemptResult with the
 * SMTP reply code when there was one, retried like a webhook.
 */
export function smtpMailSender(opts: { url: string; from: string; timeoutMs: number }): MailSender {
  // Timeouts at every stage: a silent server cannot hold a delivery forever. No logger: addresses stay out of logs.
  const transport = createTransport(
    {
      url: opts.url,
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
      logger: false,
    },
    { from: opts.from },
  );
  return {
    async send(to, mail, headers) {
      try {
        const info = await transport.sendMail({ to, subject: mail.subject, text: mail.text, html: mail.html, headers });
        return { ok: true, statusCode: 250, response: String(info.response ?? '').slice(0, 500) };
      } catch (error) {
        const e = error as { responseCode?: number; message?: string; code?: string };
        return {
          ok: false,
          statusCode: typeof e.responseCode === 'number' ? e.responseCode : undefined,
          error: `smtp: ${e.code ?? ''} ${e.message ?? String(error)}`.trim().slice(0, 500),
        };
      }
    },
    close: () => transport.close(),
  };
}
