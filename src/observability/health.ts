/** A named readiness check: resolves when the dependency answers, rejects otherwise. */
export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, 'ok' | 'fail'>;
}

/** Bound so a hung dependency cannot hang the probe (load balancers time out at a few seconds). */
const CHECK_TIMEOUT_MS = 2000;

export async function runHealthChecks(checks: HealthCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'fail'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, r]) => r === 'ok'), checks: Object.fromEntries(results) };
}
