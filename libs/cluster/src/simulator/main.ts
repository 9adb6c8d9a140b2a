// `npm run cluster:sim`: the cluster simulator as a standalone server, configured by PORT, HOST and SIM_* variables
// (`--help` lists them). Point Baton's CLUSTER_URL at the URL it prints; GET /stats shows what it received.
import { mergeSimulatorConfig, DEFAULT_SIMULATOR_CONFIG } from './simulator.config';
import { SIMULATOR_ENV_HELP, simulatorSettingsFromEnv } from './simulator.env';
import { startSimulator } from './simulator.server';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    for (const [name, what] of Object.entries(SIMULATOR_ENV_HELP)) console.log(`${name.padEnd(28)} ${what}`);
    return;
  }
  const { options, listen } = simulatorSettingsFromEnv(process.env);
  mergeSimulatorConfig(DEFAULT_SIMULATOR_CONFIG, options); // fail before binding a port
  const sim = await startSimulator(options, listen);
  const config = sim.config();
  if (config.callbacks) config.callbacks.secret = '***';
  console.log(JSON.stringify({ msg: 'cluster simulator listening', url: sim.url, config }));
  const stop = (signal: string) => {
    console.log(JSON.stringify({ msg: `cluster simulator stopping on ${signal}`, stats: sim.stats() }));
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
