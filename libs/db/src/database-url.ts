/**
 * Postgres URLs as Baton takes them: Prisma's convention of a `?schema=` parameter, which node-postgres does not
 * know, becomes a `search_path` set through the startup `options` parameter (every connection, every statement).
 */
export function parseDatabaseUrl(url: string): { plainUrl: string; schema?: string; database: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') || undefined;
  parsed.searchParams.delete('schema');
  return { plainUrl: parsed.toString(), schema, database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) };
}

/** The URL with `search_path` set to `schema` through the startup `options` parameter. */
export function withSearchPath(connectionString: string, schema: string): string {
  return withSettings(connectionString, { search_path: quoteIdent(schema) });
}

/** The URL with server settings (name → value) for every session, through the startup `options` parameter. */
export function withSettings(connectionString: string, settings: Record<string, string>): string {
  const url = new URL(connectionString);
  // Inside `options`, a backslash escapes a space or a backslash of the value.
  const added = Object.entries(settings).map(
    ([name, value]) => `-c ${name}=${value.replace(/[\\ ]/g, (c) => `\\${c}`)}`,
  );
  const existing = url.searchParams.get('options');
  url.searchParams.set('options', [...(existing ? [existing] : []), ...added].join(' '));
  return url.toString();
}

/** The connection string for a Baton URL: the plain URL, with the search path of its schema when it names one. */
export function connectionStringFor(url: string): { connectionString: string; schema?: string } {
  const { plainUrl, schema } = parseDatabaseUrl(url);
  return { connectionString: schema ? withSearchPath(plainUrl, schema) : plainUrl, schema };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
