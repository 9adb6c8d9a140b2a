import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { REDACT_PATHS } from './logger';

test('credentials never reach a log line: keys, secrets, passwords, cookies', () => {
  const lines: string[] = [];
  const log = pino(
    { redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    { write: (line: string) => lines.push(line) },
  );
  log.info(
    {
      headers: { authorization: 'Bearer bk_top', cookie: 'baton_session=s3ssion' },
      reply: { 'set-cookie': 'baton_session=s3ssion; HttpOnly' },
      oidc: { client_secret: 'cl13nt', clientSecret: 'cl13nt' },
      body: { apiKey: 'bk_top', password: 'pw' },
      secret: 'whsec_x',
    },
    'request',
  );
  const line = lines.join('');
  for (const leaked of ['bk_top', 's3ssion', 'cl13nt', 'whsec_x', '"pw"'])
    assert.ok(!line.includes(leaked), `${leaked} in ${line}`);
  assert.match(line, /\[redacted\]/);
});
