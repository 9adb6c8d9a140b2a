import type { OutboxEvent } from './events';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Failed items listed in one email at most; the link leads to the rest. */
export const MAX_LISTED_FAILURES = 20;

const COUNT_KEYS = ['total', 'succeeded', 'failed', 'cancelled', 'running', 'queued'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Where a client reads the subject over the API. */
export function subjectPath(event: Pick<OutboxEvent, 'subjectType' | 'subjectId' | 'payload'>): string | undefined {
  const data = isObj(event.payload) ? event.payload : {};
  switch (event.subjectType) {
    case 'batch':
      return `/v1/batches/${event.subjectId}`;
    case 'task':
      return `/v1/tasks/${event.subjectId}`;
    case 'inference':
    case 'inference_job':
      return `/v1/inference/jobs/${event.subjectId}`;
    case 'schedule_run':
    case 'run':
      return typeof data.scheduleId === 'string' ? `/v1/schedules/${data.scheduleId}/runs` : undefined;
    case 'alert':
      return '/v1/alerts?state=open';
    default:
      return undefined;
  }
}

interface FailedItem {
  label: string;
  error: string;
}

/** Failed items when the payload carries them (batches: `failedItems`/`failedJobs`; inference: `failures`). */
function failedItems(data: Obj): FailedItem[] {
  const list = [data.failedItems, data.failedJobs, data.failures].find(Array.isArray) as unknown[] | undefined;
  return (list ?? []).filter(isObj).map((item, i) => {
    const label = str(item.index) !== undefined ? `#${str(item.index)}` : (str(item.id) ?? `#${i}`);
    const err = item.error ?? item.lastError;
    const error = isObj(err) ? (str(err.message) ?? str(err.code) ?? JSON.stringify(err)) : (str(err) ?? 'failed');
    return { label, error };
  });
}

/**
 * A plain-text and an HTML summary of an event: what finished, its outcome and counts, the failed items with their
 * errors (when the event carries them), the error of a failed task, and a link to the API.
 */
export function renderEmail(event: OutboxEvent, opts: { apiBaseUrl: string }): RenderedEmail {
  const data = isObj(event.payload) ? event.payload : {};
  const name = str(data.name) ?? str(data.handler) ?? str(data.model) ?? str(data.kind);
  const title = `${event.subjectType.replace(/_/g, ' ')} ${event.subjectId}${name ? ` (${name})` : ''}`;
  const outcome = str(data.outcome) ?? str(data.status);
  const counts = isObj(data.counts) ? data.counts : undefined;
  const failed = failedItems(data);
  const path = subjectPath(event);
  const link = path ? `${opts.apiBaseUrl.replace(/\/+$/, '')}${path}` : undefined;

  const facts: [string, string][] = [['Event', event.type]];
  if (outcome) facts.push(['Outcome', outcome]);
  if (str(data.message)) facts.push(['Message', str(data.message)!]);
  if (isObj(data.lastError) && str(data.lastError.message)) facts.push(['Error', str(data.lastError.message)!]);
  for (const key of ['createdAt', 'startedAt', 'finishedAt', 'raisedAt', 'resolvedAt']) {
    if (str(data[key])) facts.push([key.replace(/At$/, ''), str(data[key])!]);
  }
  const countRows: [string, string][] = counts
    ? COUNT_KEYS.filter((k) => counts[k] !== undefined).map((k) => [k, str(counts[k]) ?? ''])
    : [];
  const listed = failed.slice(0, MAX_LISTED_FAILURES);
  const more = failed.length - listed.length;
  const failedTotal = counts && typeof counts.failed === 'number' ? counts.failed : failed.length;
  // The failed jobs are listed by the API even when the event carries none of them.
  const failedLink =
    link && event.subjectType === 'batch' && failedTotal > 0 ? `${link}/jobs?status=failed` : undefined;
  const subject = `[Baton] ${title}: ${outcome ?? event.type}${failedTotal > 0 ? ` (${failedTotal} failed)` : ''}`;

  const text = [
    `${title}`,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(countRows.length > 0 ? ['', 'Counts:', ...countRows.map(([k, v]) => `  ${k}: ${v}`)] : []),
    ...(listed.length > 0
      ? [
          '',
          'Failed items:',
          ...listed.map((f) => `  ${f.label}: ${f.error}`),
          ...(more > 0 ? [`  … ${more} more`] : []),
        ]
      : []),
    ...(link ? ['', `Details: ${link}`] : []),
    ...(failedLink ? [`Failed items: ${failedLink}`] : []),
    '',
    `Event id: ${event.id}`,
  ].join('\n');

  const e = escapeHtml;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${e(title)}</h2>`,
    `<table>${facts.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>`,
    countRows.length > 0
      ? `<h3>Counts</h3><table>${countRows.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>`
      : '',
    listed.length > 0
      ? `<h3>Failed items</h3><ul>${listed.map((f) => `<li><b>${e(f.label)}</b>: ${e(f.error)}</li>`).join('')}${more > 0 ? `<li>… ${more} more</li>` : ''}</ul>`
      : '',
    link ? `<p><a href="${e(link)}">${e(link)}</a></p>` : '',
    failedLink ? `<p><a href="${e(failedLink)}">Failed items</a></p>` : '',
    `<p style="color:#888">Event id: ${e(event.id)}</p>`,
    '</body></html>',
  ].join('');
  return { subject, text, html };
}
