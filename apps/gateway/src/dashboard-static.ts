import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Where the dashboard is served; its built files (apps/dashboard, `vite build`) come from DASHBOARD_DIR. */
export const DASHBOARD_PATH = '/dashboard/';

/** The dashboard's page: scripts and styles from this origin only; invoices are shown in a sandboxed srcdoc frame. */
export const DASHBOARD_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-src 'self' about:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export type DashboardFile = { found: true; contentType: string; body: Buffer; cacheControl: string } | { found: false; built: boolean };

/**
 * The file for a request path under /dashboard/. Only plain names reach the file system (letters, digits, `._-/`,
 * no dot segments: the gateway refused those before), resolved inside `dir`. A path without an extension is the
 * page itself (the app routes in the URL fragment, so this is only a convenience for bookmarks).
 */
export async function dashboardFile(dir: string, pathname: string): Promise<DashboardFile> {
  const rel = pathname.slice(DASHBOARD_PATH.length);
  if (rel !== '' && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(rel)) return { found: false, built: true };
  const wantsPage = rel === '' || path.extname(rel) === '';
  const file = path.resolve(dir, wantsPage ? 'index.html' : rel);
  if (!file.startsWith(path.resolve(dir) + path.sep)) return { found: false, built: true };
  try {
    const body = await readFile(file);
    // Vite names built assets by content hash: they never change under one name.
    const cacheControl = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { found: true, contentType: TYPES[path.extname(file)] ?? 'application/octet-stream', body, cacheControl };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'EISDIR') throw e;
    if (wantsPage) return { found: false, built: false };
    return { found: false, built: true };
  }
}
