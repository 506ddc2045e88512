/**
 * The warnings `plait serve` gives about the address it listens on, from every serving path (one or
 * more indexes, a cluster's coordinator, a shard replica with --port; the coordinator's had not
 * said them): beyond this machine without PLAIT_API_KEY, and loopback only inside a Kubernetes pod.
 */

/** Whether `host` binds only this machine: `localhost`, 127.0.0.0/8 or ::1 (anything else may be reached from others). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(?:::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host);
}

/**
 * Writes a warning to stderr when `host` is reachable from other machines and no API key is set, or
 * when it is a loopback address inside a Kubernetes pod (`env.KUBERNETES_SERVICE_HOST`, which the
 * kubelet sets in every container): the probes and the Service connect to the pod's IP, so a server
 * on the default 127.0.0.1 logs `ready` and is never reached — its startupProbe fails and the pod is
 * restarted for ever with nothing in its log saying why.
 */
export function warnOpenPort(host: string, apiKey: string | undefined, env: NodeJS.ProcessEnv = process.env): void {
  if (isLoopbackHost(host)) {
    if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') {
      process.stderr.write(`plait: warning: listening on ${host} inside a Kubernetes pod: the kubelet's probes and the Service reach the pod's IP, not its loopback, so nothing outside this container can connect; pass --host 0.0.0.0 (or ::) with PLAIT_API_KEY set (README, Running it behind a load balancer or in Kubernetes)\n`);
    }
    return;
  }
  if (apiKey !== undefined) return;
  process.stderr.write(`plait: warning: ${host} is reachable from other machines and PLAIT_API_KEY is not set: anyone who reaches this port can search, add and delete documents; set PLAIT_API_KEY (README, Server)\n`);
}
