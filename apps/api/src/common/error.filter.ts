import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { BatonError, ERROR_CODES, type ErrorCode } from '@baton/core';
import type { Logger } from '@baton/observability';
import { STATUS_OF } from './error-status';
import type { BatonRequest } from './request';

/** Fastify's own errors (body parsing, limits, routing), by code, as Baton errors. */
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed_json', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed_json', 'request body is empty but Content-Type is application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'request body is larger than the limit'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['validation_failed', 'Content-Length does not match the body'],
  FST_ERR_NOT_FOUND: ['not_found', 'route not found'],
};

const JSON_PARSE_MESSAGE = /not valid JSON|Body cannot be empty|Unexpected (token|end of JSON)|in JSON at position/i;

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'invalid_state',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'overloaded',
};

/** Errors that mean a dependency (Postgres, Redis) is away: the client should come back, not give up. */
export function isDependencyDown(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown };
  const text = `${e?.name ?? ''} ${e?.code ?? ''} ${e?.message ?? ''}`;
  if (
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|DatabaseNotReachable|P1001|P1017|P2024|connect ECONN|Connection terminated|timeout exceeded when trying to connect|Stream isn't writeable|enableOfflineQueue/i.test(
      text,
    )
  ) {
    return true;
  }
  return e?.cause !== undefined && e.cause !== error && isDependencyDown(e.cause);
}

export function toBatonError(error: unknown): BatonError {
  if (error instanceof BatonError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string };
  const fastify = e?.code ? FASTIFY_CODES[e.code] : undefined;
  if (fastify) return new BatonError(fastify[0], fastify[1]);
  if (error instanceof SyntaxError && e.statusCode === 400)
    return new BatonError('malformed_json', 'request body is not valid JSON');
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Nest re-throws Fastify's body-parser errors as plain 400s; their messages are Fastify's own.
    if (status === 400 && JSON_PARSE_MESSAGE.test(error.message))
      return new BatonError('malformed_json', 'request body is not valid JSON');
    const code = HTTP_STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'validation_failed');
    return new BatonError(code, status === 404 ? 'route not found' : error.message);
  }
  if (isDependencyDown(error))
    return new BatonError('overloaded', 'a dependency is unavailable; retry later', undefined, 5);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new BatonError(HTTP_STATUS_CODES[e.statusCode] ?? 'validation_failed', e.message ?? 'bad request');
  }
  return new BatonError('internal', 'internal error');
}

/** Every non-2xx answer is API.md's envelope; nothing else, and never a stack trace. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(http.getRequest<BatonRequest>(), http.getResponse<FastifyReply>(), error, this.log);
  }
}

export function sendError(req: BatonRequest, reply: FastifyReply, error: unknown, log: Logger): void {
  const baton = toBatonError(error);
  const status = STATUS_OF[baton.code];
  if (status >= 500) {
    // overloaded is the system protecting itself (a dependency away, a backlog): a warning, not a fault of ours
    const level = baton.code === 'overloaded' ? 'warn' : 'error';
    log[level]({ requestId: req.id, tenantId: req.principal?.tenantId, err: error }, `request failed: ${baton.code}`);
  }
  if (baton.retryAfterSeconds !== undefined) void reply.header('retry-after', String(baton.retryAfterSeconds));
  void reply
    .status(status)
    .header('content-type', 'application/json; charset=utf-8')
    .send({
      error: {
        code: baton.code,
        message: baton.message,
        retryable: ERROR_CODES[baton.code].retryable,
        requestId: String(req.id),
        ...(baton.details ? { details: baton.details } : {}),
      },
    });
}
