// Imported first by each app's main.ts: with TRACING_ENABLED=true, tracing starts before any module that makes
// HTTP servers or clients is loaded, which the HTTP instrumentation needs. The setting is validated with the others
// at boot; here only the literal `true` turns it on.
import { startTracing } from './tracing';

if (process.env.TRACING_ENABLED === 'true') {
  startTracing({
    serviceName: `baton-${process.argv.includes('--all') ? 'all' : (/apps\/([\w-]+)\//.exec(process.argv[1] ?? '')?.[1] ?? 'app')}`,
    otlpEndpoint: process.env.TRACING_OTLP_URL || undefined,
  });
}
