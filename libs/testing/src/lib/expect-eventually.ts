/**
 * Retries `assertion` until it stops throwing or `timeoutMs` passes; then rethrows its last error.
 * Use instead of sleeps: the test waits exactly as long as the system needs.
 */
export async function expectEventually<T>(assertion: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await assertion();
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw lastError;
}
