import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { load } from 'js-yaml';
import { registry } from './metrics';

// The Prometheus rule file shipped in docs/prometheus: every metric and label it names must exist in the code, so a
// rename breaks this test instead of silently muting an alert.
const ROOT = join(__dirname, '../../../..');
const RULES_FILE = join(ROOT, 'docs/prometheus/baton.rules.yml');

/** Prometheus's own checker: PROMTOOL, or `promtool` on the PATH (Debian's `prometheus` package has it). */
function promtool(): string | undefined {
  const candidates = [
    process.env.PROMTOOL,
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'promtool')),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (): Rule[] => {
  const doc = load(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
};

/** The expression without its string literals (label values such as routes look like names). */
const withoutStrings = (expr: string): string => expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');

/** Our series names in an expression: baton_* metrics (a histogram's _bucket/_sum/_count as the histogram). */
function metricNames(expr: string): string[] {
  return [...withoutStrings(expr).matchAll(/\bbaton_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

function registered(name: string): { name: string; labelNames: string[]; histogram: boolean } | undefined {
  for (const candidate of [name, name.replace(/_(bucket|sum|count)$/, '')]) {
    const metric = registry.getSingleMetric(candidate) as
      { labelNames?: readonly string[]; constructor: { name: string } } | undefined;
    if (metric) {
      const histogram = metric.constructor.name === 'Histogram';
      if (candidate !== name && !histogram) return undefined; // _count of a counter does not exist
      return { name: candidate, labelNames: [...(metric.labelNames ?? [])], histogram };
    }
  }
  return undefined;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const slugs = markdown
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  return new Set(slugs);
}

describe('docs/prometheus/baton.rules.yml', () => {
  test('every baton_* metric an expression names is in the registry, with the labels it matches on', () => {
    const problems: string[] = [];
    for (const rule of rules()) {
      const where = rule.record ?? rule.alert;
      const expr = rule.expr;
      for (const name of metricNames(expr)) {
        const metric = registered(name);
        if (!metric) {
          problems.push(`${where}: ${name} is not a metric`);
          continue;
        }
        const known = new Set([...metric.labelNames, ...(metric.histogram ? ['le'] : [])]);
        // The matchers right after this name: name{a="x", b=~"y"}
        for (const selector of expr.matchAll(new RegExp(`\\b${name}\\{([^}]*)\\}`, 'g'))) {
          for (const label of selector[1].matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
            if (!known.has(label[1])) problems.push(`${where}: ${name} has no label ${label[1]}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('every recorded series an expression uses is recorded in the file; names follow level:metric:operations', () => {
    const all = rules();
    const recorded = new Set(all.filter((r) => r.record).map((r) => r.record));
    for (const name of recorded) assert.match(name!, /^baton:[a-z0-9_]+:[a-z0-9_]+$/);
    const used = all.flatMap((r) => [...withoutStrings(r.expr).matchAll(/\bbaton:[a-z0-9_:]+/g)].map((m) => m[0]));
    assert.ok(used.length > 10, 'the alerts read the recording rules');
    assert.deepEqual(
      used.filter((name) => !recorded.has(name)),
      [],
    );
  });

  test('every alert has a severity, a summary and a runbook section that exists in docs/operations.md', () => {
    const sections = anchors(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8'));
    const alerts = rules().filter((r) => r.alert);
    assert.ok(alerts.length >= 15);
    for (const alert of alerts) {
      assert.ok(['page', 'warning', 'ticket', 'info'].includes(alert.labels?.severity ?? ''), alert.alert);
      assert.ok(alert.annotations?.summary, `${alert.alert} has a summary`);
      const runbook = /^docs\/operations\.md#(.+)$/.exec(alert.annotations?.runbook ?? '');
      assert.ok(runbook, `${alert.alert} names a section of docs/operations.md`);
      assert.ok(sections.has(runbook[1]), `${alert.alert}: no section #${runbook[1]} in docs/operations.md`);
    }
  });

  test('the alerts cover what the README promises: each process absent, queues, SLOs, failures, the cluster', () => {
    const names = new Set(rules().map((r) => r.alert));
    for (const name of [
      'BatonApiDown',
      'BatonWorkerAbsent',
      'BatonGpuWorkerAbsent',
      'BatonQueueBacklog',
      'BatonQueueOldestWaiting',
      'BatonEnqueueToStartBudgetBurnFast',
      'BatonHttp5xxRatio',
      'BatonOverloaded',
      'BatonDeadLettersRising',
      'BatonSchedulerLag',
      'BatonNotificationsFailing',
      'BatonReconcilerRepairing',
      'BatonClusterRateLimiting',
      'BatonInferenceSlow',
    ]) {
      assert.ok(names.has(name), name);
    }
  });

  test('promtool parses the rules and prometheus.yml, and the alerts pass their unit tests (baton.rules.test.yml)', (t) => {
    const bin = promtool();
    if (!bin) {
      t.skip('promtool not installed (apt-get install prometheus, or set PROMTOOL)');
      return;
    }
    const check = spawnSync(bin, ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    // The docker-compose Prometheus configuration, which loads the rules.
    const config = spawnSync(bin, ['check', 'config', join(dirname(RULES_FILE), 'prometheus.yml')], {
      encoding: 'utf8',
    });
    assert.equal(config.status, 0, config.stdout + config.stderr);
    const run = spawnSync(bin, ['test', 'rules', 'baton.rules.test.yml'], {
      cwd: dirname(RULES_FILE),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  test('the checks themselves catch a renamed metric and an unknown label', () => {
    assert.equal(registered('baton_job_enqueue_to_start_seconds_bucket')?.name, 'baton_job_enqueue_to_start_seconds');
    assert.equal(registered('baton_job_enqueue_to_start_secs_bucket'), undefined);
    assert.equal(registered('baton_dead_letters_total_count'), undefined, 'a counter has no _count series');
    assert.deepEqual(metricNames('sum(rate(baton_x_total{route="/baton_y"}[5m])) / up'), ['baton_x_total']);
    assert.ok(anchors('## A worker process dies (crash, kill -9, OOM)').has('a-worker-process-dies-crash-kill--9-oom'));
  });
});
