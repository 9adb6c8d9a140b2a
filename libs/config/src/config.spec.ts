import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_SPEC, ConfigError, loadConfig, parseClusterNodes } from '.';

describe('loadConfig', () => {
  test('defaults make a working single-machine setup', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 3000);
    assert.equal(c.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(c.DATABASE_URL_EXPLICIT, false);
    assert.equal(loadConfig({ DATABASE_URL: 'postgresql://x@h/db' }).DATABASE_URL_EXPLICIT, true);
    assert.equal(loadConfig({ DATABASE_URL: '', REDIS_URL: '' }).DATABASE_URL_EXPLICIT, false, 'empty means unset');
  });

  test('a bad value throws one line naming the variable, what it expects and what it got', () => {
    const cases: [string, string, RegExp][] = [
      ['PORT', '70000', /invalid setting PORT: expected a port number \(1-65535\), got "70000"$/],
      ['TASK_CONCURRENCY', '1.5', /invalid setting TASK_CONCURRENCY: expected an integer from 1 to 1000, got "1.5"$/],
      ['DATABASE_URL', 'nope', /invalid setting DATABASE_URL: expected a URL, got "nope"$/],
      [
        'LOG_LEVEL',
        'chatty',
        /^invalid setting LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "chatty"$/,
      ],
      ['TRUST_PROXY', 'maybe', /invalid setting TRUST_PROXY: expected true or false, got "maybe"$/],
    ];
    for (const [name, value, pattern] of cases) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (e: Error) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'),
        name,
      );
    }
    assert.throws(
      () => loadConfig({ TASK_BACKOFF_BASE_MS: '5000', TASK_BACKOFF_MAX_MS: '1000' }),
      /TASK_BACKOFF_BASE_MS/,
    );
    assert.throws(
      () => loadConfig({ NOTIFY_BACKOFF_BASE_MS: '5000', NOTIFY_BACKOFF_MAX_MS: '1000' }),
      /NOTIFY_BACKOFF_BASE_MS/,
    );
    assert.throws(
      () => loadConfig({ PUBLIC_URL: 'ftp://x' }),
      /invalid setting PUBLIC_URL: expected a URL starting http:\/\/ or https:\/\/, got "ftp:\/\/x"$/,
    );
  });

  test('SMTP_URL: smtp(s) only, and never echoed (it may carry a password)', () => {
    assert.equal(
      loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com:465' }).SMTP_URL,
      'smtps://u:p@mail.example.com:465',
    );
    assert.equal(loadConfig({}).SMTP_URL, '', 'email is off by default');
    assert.throws(
      () => loadConfig({ SMTP_URL: 'http://u:hunter2@mail.example.com' }),
      (e: Error) => e instanceof ConfigError && /SMTP_URL/.test(e.message) && !e.message.includes('hunter2'),
    );
  });

  test('single sign-on settings are checked together; secrets are never echoed', () => {
    const sso = {
      OIDC_ISSUER_URL: 'https://login.example.com',
      OIDC_CLIENT_ID: 'baton',
      PUBLIC_URL: 'https://baton.example.com',
    };
    assert.equal(loadConfig(sso).OIDC_ROLE_CLAIM, 'baton_role');
    assert.equal(loadConfig({ ...sso, OIDC_ISSUER_URL: 'http://127.0.0.1:4000/oidc' }).OIDC_CLIENT_ID, 'baton');
    const cases: [Record<string, string>, RegExp][] = [
      [{ ...sso, OIDC_CLIENT_ID: '' }, /invalid setting OIDC_CLIENT_ID: expected a value/],
      [{ ...sso, PUBLIC_URL: '' }, /invalid setting PUBLIC_URL: expected a value/],
      [
        { ...sso, OIDC_ISSUER_URL: 'http://login.example.com' },
        /invalid setting OIDC_ISSUER_URL: expected an https URL/,
      ],
      [{ ...sso, OIDC_ROLE_MAP: 'ops=root' }, /invalid setting OIDC_ROLE_MAP: expected "ops=root" is not/],
      [
        { PUBLIC_URL: 'ftp://x' },
        /invalid setting PUBLIC_URL: expected a URL starting http:\/\/ or https:\/\/, got "ftp:\/\/x"$/,
      ],
    ];
    for (const [env, pattern] of cases) assert.throws(() => loadConfig(env), pattern, JSON.stringify(env));
    assert.throws(
      () => loadConfig({ SESSION_SECRET: 'short-secret' }),
      (e: Error) => /^invalid setting SESSION_SECRET: expected at least 32 characters, got 12$/.test(e.message),
    );
  });

  test('REDIS_CLUSTER_NODES: seed nodes checked (never echoed); the queue prefix gets one hash tag', () => {
    assert.equal(loadConfig({}).QUEUE_PREFIX, 'baton', 'one Redis: the prefix as given');
    const nodes = '10.0.0.1:7000, redis://u:p%40ss@10.0.0.2:7001,rediss://10.0.0.3:7002';
    assert.equal(loadConfig({ REDIS_CLUSTER_NODES: nodes }).QUEUE_PREFIX, '{baton}');
    assert.equal(loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: 'acme' }).QUEUE_PREFIX, '{acme}');
    assert.equal(loadConfig({ REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: '{acme}-b' }).QUEUE_PREFIX, '{acme}-b');
    assert.deepEqual(parseClusterNodes(nodes), [
      '10.0.0.1:7000',
      'redis://u:p%40ss@10.0.0.2:7001',
      'rediss://10.0.0.3:7002',
    ]);
    for (const bad of ['10.0.0.1', 'redis://:secret@host', 'http://h:1', 'h:1 h:2']) {
      assert.throws(
        () => loadConfig({ REDIS_CLUSTER_NODES: bad }),
        (e: Error) =>
          e instanceof ConfigError &&
          /^invalid setting REDIS_CLUSTER_NODES: expected host:port/.test(e.message) &&
          !e.message.includes('secret'),
        bad,
      );
    }
  });

  test('the README lists every setting', () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    const missing = Object.keys(CONFIG_SPEC).filter((name) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });
});
