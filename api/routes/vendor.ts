/**
 * The page's libraries, served from node_modules by the API itself (no CDN: the page works offline and no request
 * leaves the machine). A fixed list: a Markdown renderer and an HTML sanitiser (marked + DOMPurify), a chart
 * library (uPlot), a graph layout (dagre), cron expressions in words (cronstrue). Each file is read once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { NotFound } from '../errors';
import { route, type RouteDef } from '../http/route';

const JS = 'text/javascript; charset=utf-8';

/** Name served under /vendor/ → the package, the file in it, and its type. */
export const VENDOR_FILES: Record<string, { pkg: string; file: string; type: string }> = {
  'marked.js': { pkg: 'marked', file: 'lib/marked.esm.js', type: JS },
  'purify.js': { pkg: 'dompurify', file: 'dist/purify.min.js', type: JS },
  'uplot.js': { pkg: 'uplot', file: 'dist/uPlot.iife.min.js', type: JS },
  'uplot.css': { pkg: 'uplot', file: 'dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
  'dagre.js': { pkg: '@dagrejs/dagre', file: 'dist/dagre.esm.js', type: JS },
  'cronstrue.js': { pkg: 'cronstrue', file: 'dist/cronstrue.min.js', type: JS },
};

/** The installed folder of a package (its exports map may hide the dist files from require.resolve). */
export function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === pkg) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package ${pkg} not found`);
    dir = up;
  }
}

/** Source maps are not served: drop their references so browsers do not ask for them. */
const withoutSourceMap = (text: string) => text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');

const VendorParams = z.object({ file: z.string().max(100) }).strict();

export function vendorRoutes(): RouteDef[] {
  const cache = new Map<string, string>();
  return [
    route(
      {
        method: 'get',
        path: '/vendor/:file',
        tag: 'page',
        summary: 'A library of the page, from the API\'s own node_modules',
        params: VendorParams,
        raw: true,
        responses: { 200: { description: 'The file', contentType: 'text/javascript', schema: z.string() }, 404: 'Not one of the page\'s libraries' },
      },
      ({ params, res }) => {
        const entry = Object.hasOwn(VENDOR_FILES, params.file) ? VENDOR_FILES[params.file] : undefined;
        if (!entry) throw new NotFound(`no library ${params.file}`);
        let text = cache.get(params.file);
        if (text === undefined) {
          text = withoutSourceMap(fs.readFileSync(path.join(packageDir(entry.pkg), entry.file), 'utf8'));
          cache.set(params.file, text);
        }
        res.set({ 'content-type': entry.type, 'cache-control': 'private, max-age=3600' }).send(text);
      },
    ),
  ];
}
