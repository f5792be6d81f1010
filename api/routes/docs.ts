/**
 * The API's own description: GET /openapi.json (OpenAPI 3.1, generated from the zod schemas the routes validate
 * with) and GET /docs, the same document rendered for people by Swagger UI, whose files are served from the
 * swagger-ui-dist package (no CDN; the page works offline). Both need credentials like every endpoint but health:
 * the document describes what an authenticated caller can do, and a browser without a session is sent to /login.
 */
import path from 'node:path';
import { z } from 'zod';
import type { HttpApi } from '../http/route';
import { route, type RouteDef } from '../http/route';

const DOCS_DIR = path.join(__dirname, '..', 'http', 'docs');
const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files /docs loads, and where each comes from. */
const ASSETS = {
  'swagger-ui.css': SWAGGER_DIR,
  'swagger-ui-bundle.js': SWAGGER_DIR,
  'docs.js': DOCS_DIR,
} as const;

const AssetParams = z.object({ file: z.enum(Object.keys(ASSETS) as [keyof typeof ASSETS, ...(keyof typeof ASSETS)[]]) }).strict();

export function docsRoutes(http: HttpApi): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/openapi.json',
        tag: 'system',
        summary: 'This document (OpenAPI 3.1)',
        responses: { 200: { description: 'The OpenAPI document', schema: z.record(z.unknown()) } },
      },
      () => http.openApiDocument(),
    ),
    route(
      {
        method: 'get',
        path: '/docs',
        tag: 'system',
        summary: 'This document, rendered for people (Swagger UI)',
        raw: true,
        responses: { 200: { description: 'The page', contentType: 'text/html', schema: z.string() } },
      },
      ({ res }) => res.sendFile(path.join(DOCS_DIR, 'index.html')),
    ),
    route(
      {
        method: 'get',
        path: '/docs/assets/:file',
        tag: 'system',
        summary: 'The files the /docs page loads',
        params: AssetParams,
        raw: true,
        responses: { 200: { description: 'A script or stylesheet', contentType: 'application/octet-stream', schema: z.string() }, 400: 'Not one of the page\'s files' },
      },
      ({ params, res }) => res.sendFile(path.join(ASSETS[params.file], params.file), { maxAge: '1h' }),
    ),
  ];
}
