import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server for tests: parses every message that arrives. `reject(n, to)` returns an SMTP reply code to refuse
 * the n-th attempt (1-based) to mailbox `to` with, e.g. 451 for a temporary failure.
 */
export async function startSmtp(reject: (n: number, to: string) => number | undefined = () => undefined) {
  const mails: ParsedMail[] = [];
  const received = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const n = (received.get(address.address) ?? 0) + 1;
      received.set(address.address, n);
      const code = reject(n, address.address);
      if (!code) return callback();
      const error = new Error(`mailbox busy (${code})`) as Error & { responseCode: number };
      error.responseCode = code;
      callback(error);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    attempts: (to: string) => received.get(to) ?? 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
