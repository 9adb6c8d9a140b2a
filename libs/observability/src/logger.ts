import pino, { type Logger } from 'pino';
import { traceIds } from './tracing';

export type { Logger } from 'pino';

/** Paths never written to a log, whatever object they appear in. */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  // Console sessions and sign-in: a cookie is a bearer credential too.
  'cookie',
  '*.cookie',
  'req.headers.cookie',
  '*["set-cookie"]',
  '*.client_secret',
  '*.clientSecret',
];

/** pino JSON to stdout; service name and pid on every line, and the trace and span ids when a trace is active. */
export function createLogger(opts: { level: string; name: string }, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: opts.name, pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceIds,
  };
  return destination ? pino(options, destination) : pino(options);
}
