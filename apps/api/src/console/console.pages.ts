import type { Session } from '@baton/identity';

/** HTML-escapes text for element content and quoted attributes. */
export const esc = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

// No script anywhere: the console's own pages are plain HTML and forms (the CSP allows no inline script).
const STYLE = `body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.7em 1.5em;display:flex;gap:1.5em;align-items:center}
header a{color:#cfe0ff}header form{margin-left:auto}main{padding:1.5em;max-width:70em}
table{border-collapse:collapse;background:#fff;margin:.5em 0 1.5em;min-width:30em}
th,td{border:1px solid #d9dde5;padding:.35em .8em;text-align:left}th{background:#eef1f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}.box{background:#fff;padding:1.5em;max-width:26em;
margin:4em auto;border:1px solid #d9dde5;border-radius:6px}.err{color:#a4161a}input{width:100%;padding:.4em;
margin:.3em 0 1em;box-sizing:border-box}button,.button{padding:.45em 1.1em;cursor:pointer}.muted{color:#5b6475}`;

function layout(title: string, body: string, session?: Session): string {
  const nav = session
    ? `<header><strong>Baton</strong><a href="/admin">Operator views</a><a href="/admin/queues">Queues (Bull Board)</a>
<form method="post" action="/admin/logout"><span class="muted">${esc(session.name)} · ${esc(session.role)}</span>
<button type="submit">Sign out</button></form></header>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Baton</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body>${nav}${body}</body></html>`;
}

export function loginPage(opts: { sso: boolean; keySignIn: boolean; next: string; error?: string }): string {
  const next = encodeURIComponent(opts.next);
  const sso = opts.sso
    ? `<p><a class="button" id="sso" href="/admin/login/sso?next=${esc(next)}">Sign in with single sign-on</a></p>`
    : '';
  const key = opts.keySignIn
    ? `<form method="post" action="/admin/login/key"><label for="apiKey">${opts.sso ? 'Or with an' : 'With an'} admin API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="${esc(opts.next)}"><button type="submit">Sign in</button></form>`
    : '';
  const none =
    !opts.sso && !opts.keySignIn ? '<p>No sign-in method is enabled (OIDC_ISSUER_URL, CONSOLE_KEY_SIGNIN).</p>' : '';
  const error = opts.error ? `<p class="err" role="alert">${esc(opts.error)}</p>` : '';
  return layout('Sign in', `<div class="box"><h1>Baton operator console</h1>${error}${sso}${key}${none}</div>`);
}

export function signOutPage(): string {
  return layout(
    'Sign out',
    `<div class="box"><h1>Sign out?</h1><form method="post" action="/admin/logout"><button type="submit">Sign out</button>
</form><p><a href="/admin">Back to the console</a></p></div>`,
  );
}

export function refusedPage(message: string, session?: Session): string {
  return layout(
    'Not allowed',
    `<div class="box"><h1>Not allowed</h1><p class="err">${esc(message)}</p>
<p><a href="/admin/login">Sign in as someone else</a></p></div>`,
    session,
  );
}

export interface Column<T> {
  title: string;
  value: (row: T) => unknown;
  numeric?: boolean;
}

export function table<T>(id: string, rows: T[], columns: Column<T>[], empty: string): string {
  if (rows.length === 0) return `<p class="muted" id="${esc(id)}">${esc(empty)}</p>`;
  const head = columns.map((c) => `<th>${esc(c.title)}</th>`).join('');
  const body = rows
    .map(
      (r) => `<tr>${columns.map((c) => `<td${c.numeric ? ' class="n"' : ''}>${esc(c.value(r))}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table id="${esc(id)}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function consolePage(
  title: string,
  sections: { heading: string; note: string; html: string }[],
  session: Session,
) {
  const body = sections.map((s) => `<h2>${esc(s.heading)}</h2><p class="muted">${esc(s.note)}</p>${s.html}`).join('');
  return layout(title, `<main><h1>${esc(title)}</h1>${body}</main>`, session);
}
