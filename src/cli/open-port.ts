/**
 * The warning `plait serve` gives when it listens beyond this machine without PLAIT_API_KEY: every
 * serving path says it (one or more indexes, a cluster's coordinator, a shard replica with --port);
 * the coordinator's path had not.
 */

/** Whether `host` binds only this machine: `localhost`, 127.0.0.0/8 or ::1 (anything else may be reached from others). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Writes the warning to stderr when `host` is reachable from other machines and no API key is set. */
export function warnOpenPort(host: string, apiKey: string | undefined): void {
  if (apiKey !== undefined || isLoopbackHost(host)) return;
  process.stderr.write(`plait: warning: ${host} is reachable from other machines and PLAIT_API_KEY is not set: anyone who reaches this port can search, add and delete documents; set PLAIT_API_KEY (README, Server)\n`);
}
