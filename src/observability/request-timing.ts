/**
 * Runs a request's downstream handling and reports its final status and duration, also when it
 * throws (the status is then the error's, or 500). Shared by the HTTP and protocol metrics.
 */
export async function timeRequest(
  run: () => Promise<unknown>,
  statusOf: () => number,
  done: (status: number, seconds: number) => void,
): Promise<void> {
  const started = process.hrtime.bigint();
  let status = 500;
  try {
    await run();
    status = statusOf();
  } catch (err) {
    status = (err as { status?: number }).status ?? 500;
    throw err;
  } finally {
    done(status, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
