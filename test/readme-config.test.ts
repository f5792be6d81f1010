/**
 * The README's configuration table against the configuration schema (lib/config.ts EnvSchema): every variable
 * the app reads is in the table exactly once with its real default, and the table names nothing the app ignores.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EnvSchema } from '../lib/config';

const root = path.resolve(__dirname, '..');

interface Row {
  names: string[];
  /** The default cell, one piece per name when the row gives one per name. */
  defaults: string[];
  meaning: string;
  line: string;
}

/** The rows of the table under `## Configuration`. */
function configurationTable(readme: string): Row[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  if (!section) throw new Error('README has no ## Configuration section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [name, def, meaning] = line.split(/\s*\|\s*/).slice(1, 4);
      const names = [...name.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]);
      const pieces = def.split(/,\s*/);
      return { names, defaults: pieces.length === names.length ? pieces : names.map(() => def), meaning, line };
    });
}

/** The schema's default of a variable as the README writes it, or undefined when it has none (or an empty one). */
function schemaDefault(name: string): string | undefined {
  const field = EnvSchema.shape[name as keyof typeof EnvSchema.shape] as z.ZodTypeAny;
  if (!(field instanceof z.ZodDefault)) return undefined;
  const value = String(field._def.defaultValue());
  if (value === '') return undefined;
  // Paths default to folders of the checkout; the README names them relative to it.
  return path.isAbsolute(value) ? path.relative(root, value) : value;
}

const inSchema = Object.keys(EnvSchema.shape);

/** Everything wrong with a configuration table, one line per problem. */
function problems(rows: Row[]): string[] {
  const out: string[] = [];
  const inTable = rows.flatMap((r) => r.names);
  for (const n of inSchema) if (!inTable.includes(n)) out.push(`${n}: missing from the table`);
  for (const n of inTable) if (!inSchema.includes(n)) out.push(`${n}: not a variable of lib/config.ts`);
  inTable.forEach((n, i) => inTable.indexOf(n) !== i && out.push(`${n}: in the table more than once`));
  for (const row of rows) {
    row.names.forEach((name, i) => {
      if (!inSchema.includes(name)) return;
      const shown = row.defaults[i].trim();
      const literal = /^`([^`]*)`$/.exec(shown)?.[1];
      const expected = schemaDefault(name);
      if (expected !== undefined && literal !== expected) out.push(`${name}: README says ${shown}, the schema's default is \`${expected}\``);
      if (expected === undefined && literal !== undefined) out.push(`${name}: README says ${shown}, the schema has no default`);
    });
    if (!row.meaning?.trim()) out.push(`${row.names.join(', ')}: no meaning given`);
  }
  return out;
}

test('When the README lists the configuration, then every variable of the schema is there once, with the schema\'s default, and nothing else is', () => {
  const rows = configurationTable(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
  expect(rows.length).toBeGreaterThan(20);
  expect(problems(rows)).toEqual([]);
});

test('When a table is wrong, then the check names each problem', () => {
  const good = inSchema.filter((n) => !['PORT', 'MC_LOG_LEVEL', 'MC_API_KEYS'].includes(n)).map((n) => `| \`${n}\` | ${schemaDefault(n) === undefined ? '–' : `\`${schemaDefault(n)}\``} | x |`);
  const table = ['## Configuration', '', ...good, '| `PORT` | `8080` | port |', '| `MC_API_KEYS` | `secret` | keys |', '| `MC_NOT_A_THING` | – | nothing |', '| `MC_TASK_QUEUE` | `mission-control` | again |', ''].join('\n');
  expect(problems(configurationTable(table))).toEqual([
    'MC_LOG_LEVEL: missing from the table',
    'MC_NOT_A_THING: not a variable of lib/config.ts',
    'MC_TASK_QUEUE: in the table more than once',
    'PORT: README says `8080`, the schema\'s default is `3000`',
    'MC_API_KEYS: README says `secret`, the schema has no default',
  ]);
});
