import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The browsable reference: Swagger UI served from node_modules (swagger-ui-dist), so it works offline. */
const SWAGGER_UI_DIR: string = (require('swagger-ui-dist') as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();

export const DOCS_PATH = '/api/v1/docs';
export const OPENAPI_PATH = '/api/v1/openapi.json';
const ASSETS_PATH = `${DOCS_PATH}/assets/`;

export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tally API reference</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" type="image/png" href="${ASSETS_PATH}favicon-32x32.png">
  <link rel="stylesheet" href="${ASSETS_PATH}swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}init.js"></script>
</body>
</html>
`;

// No inline script (the page's CSP allows scripts from this origin only); validatorUrl null: no call to an outside validator.
const init = `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(OPENAPI_PATH)}, dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });\n`;

/** Only these files are served, read once: nothing from a request's path ever reaches the file system. */
const ASSET_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

export const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'";

export class ApiDocs {
  private readonly assets = new Map<string, StaticAsset>();
  readonly documentBody: Buffer;

  constructor(document: unknown) {
    this.documentBody = Buffer.from(JSON.stringify(document));
    for (const [name, contentType] of Object.entries(ASSET_FILES)) {
      this.assets.set(`${ASSETS_PATH}${name}`, { contentType, body: readFileSync(path.join(SWAGGER_UI_DIR, name)) });
    }
    this.assets.set(`${ASSETS_PATH}init.js`, { contentType: 'text/javascript; charset=utf-8', body: Buffer.from(init) });
    this.assets.set(DOCS_PATH, { contentType: 'text/html; charset=utf-8', body: Buffer.from(page) });
    this.assets.set(`${DOCS_PATH}/`, { contentType: 'text/html; charset=utf-8', body: Buffer.from(page) });
  }

  /** The page or one of its assets for a request path, or undefined. */
  asset(pathname: string): StaticAsset | undefined {
    return this.assets.get(pathname);
  }
}
