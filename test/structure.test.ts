/**
 * The structure the README promises, checked from the code's own imports (madge reads them with the TypeScript
 * compiler's resolution, as `npx madge --circular --extensions ts contracts workflows activities api lib workers`
 * does from a shell):
 * - no import circles between files;
 * - contracts/ is the bottom layer: it imports no other folder of ours and nothing from Node (only pure libraries:
 *   zod, cron-parser, Temporal's common and workflow APIs);
 * - workflows/ import no Node modules and no activity values (types only, for proxyActivities);
 * - activities/ import no values from workflows/ (shared shapes come from contracts/);
 * - api/ imports nothing from activities/ (it reaches them only through Temporal).
 */
import fs from 'node:fs';
import path from 'node:path';
import madge from 'madge';

const ROOT = path.resolve(__dirname, '..');
const LAYERS = ['contracts', 'workflows', 'activities', 'api', 'lib', 'workers'];

/** Import specifiers of a file, each with whether it is type-only (`import type` / `export type`). */
function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const src = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]/gm)) {
    out.push({ spec: m[3], typeOnly: !!m[2] });
  }
  for (const m of src.matchAll(/(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], typeOnly: false });
  return out;
}

const folderOf = (file: string, spec: string): string | undefined => {
  if (!spec.startsWith('.')) return undefined;
  const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
  return target.split(path.sep)[0];
};

let graph: Record<string, string[]>;
let circles: string[][];

beforeAll(async () => {
  const result = await madge(LAYERS.map((l) => path.join(ROOT, l)), {
    baseDir: ROOT,
    fileExtensions: ['ts'],
    tsConfig: path.join(ROOT, 'tsconfig.json'),
  });
  graph = result.obj();
  circles = result.circular();
}, 60_000);

test('When the source files are read, then madge finds them all and their imports', () => {
  const files = Object.keys(graph);
  expect(files.length).toBeGreaterThan(40);
  for (const layer of LAYERS) expect(files.some((f) => f.startsWith(`${layer}/`))).toBe(true);
  // A resolver that silently failed would show no edges into contracts/.
  expect(Object.values(graph).flat().filter((f) => f.startsWith('contracts/')).length).toBeGreaterThan(20);
});

test('When the imports are followed, then no file takes part in an import circle', () => {
  expect(circles).toEqual([]);
});

test('When contracts/ is read, then it imports no other folder of ours and no Node module', () => {
  for (const file of Object.keys(graph).filter((f) => f.startsWith('contracts/'))) {
    for (const { spec } of importsOf(file)) {
      const folder = folderOf(file, spec);
      if (folder) expect(`${file} → ${folder}`).toBe(`${file} → contracts`);
      else expect(`${file} → ${spec}`).toMatch(/→ (zod|cron-parser|@temporalio\/(common|workflow))$/);
    }
  }
});

test('When workflows/ is read, then it imports no Node module and only types from activities/', () => {
  for (const file of Object.keys(graph).filter((f) => f.startsWith('workflows/'))) {
    for (const { spec, typeOnly } of importsOf(file)) {
      const folder = folderOf(file, spec);
      if (!folder) expect(`${file} → ${spec}`).toMatch(/→ (zod|@temporalio\/(common|workflow))$/);
      else if (folder === 'activities') expect(`${file} → ${spec} (type only: ${typeOnly})`).toMatch(/type only: true/);
      else expect(['contracts', 'workflows']).toContain(folder);
    }
  }
});

test('When activities/ is read, then it imports no values from workflows/', () => {
  for (const file of Object.keys(graph).filter((f) => f.startsWith('activities/'))) {
    for (const { spec, typeOnly } of importsOf(file)) {
      if (folderOf(file, spec) === 'workflows') expect(`${file} → ${spec} (type only: ${typeOnly})`).toMatch(/type only: true/);
    }
  }
});

test('When api/ is read, then nothing in it imports from activities/', () => {
  const offenders = Object.entries(graph)
    .filter(([file]) => file.startsWith('api/'))
    .flatMap(([file, deps]) => deps.filter((d) => d.startsWith('activities/')).map((d) => `${file} → ${d}`));
  expect(offenders).toEqual([]);
});
