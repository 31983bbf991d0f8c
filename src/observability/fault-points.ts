/**
 * Test-only crash points for the fault suite (npm run test:faults): with
 * GATEHOUSE_FAULT_INJECTION=crash-after-refresh-rotation the process kills itself with SIGKILL
 * right after a refresh-token rotation committed and before the answer is sent — the worst
 * moment for a client. Unset (always, in production) a fault point costs one Set lookup.
 */
export type FaultPoint = 'crash-after-refresh-rotation';

export const FAULT_POINTS: readonly FaultPoint[] = ['crash-after-refresh-rotation'];

const armed = new Set<FaultPoint>();

export function armFaultPoint(point: FaultPoint): void {
  armed.add(point);
}

export function faultPoint(point: FaultPoint): void {
  if (armed.size && armed.has(point)) process.kill(process.pid, 'SIGKILL');
}
