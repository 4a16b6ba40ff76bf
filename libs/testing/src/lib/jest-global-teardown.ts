/** Stops what globalSetup started (containers, or a local broker it had to start). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__tallyTestInfra?.stop();
}
