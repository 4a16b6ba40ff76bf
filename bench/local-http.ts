import { createServer } from 'node:net';

/** A port nothing listens on right now (the services of a bench or chaos run each get one). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function isReady(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
}

/** POSTs JSON to a local service with a bearer token; any non-2xx answer is an error. */
export async function postJson(port: number, pathname: string, token: string, body: unknown, idempotencyKey?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** GETs JSON from a local service with a bearer token; any non-2xx answer is an error. */
export async function getJson(port: number, pathname: string, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}
