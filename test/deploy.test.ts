/**
 * deploy/ cannot be run here (no Docker engine), so these checks keep it from drifting from the code:
 * every variable it sets is one the app reads, every path it copies or runs exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EnvSchema } from '../lib/config';

const root = path.resolve(__dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

describe('deploy files', () => {
  test('When the compose file sets an app variable, then the configuration schema knows it', () => {
    const compose = read('deploy/docker-compose.yml');
    const vars = [...compose.matchAll(/^\s+((?:MC|TEMPORAL|OPENAI|ANTHROPIC)_[A-Z_]+):/gm)].map((m) => m[1]);
    expect(vars.length).toBeGreaterThan(5);
    const known = Object.keys(EnvSchema.shape);
    expect(vars.filter((v) => !known.includes(v))).toEqual([]);
  });

  test('When the Dockerfile copies or runs a path, then it exists in the repository', () => {
    const docker = read('deploy/Dockerfile');
    const copied = [...docker.matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    expect(copied).toEqual(expect.arrayContaining(['contracts', 'workflows', 'activities', 'api', 'lib', 'web']));
    for (const p of copied) expect(fs.existsSync(path.join(root, p))).toBe(true);
    const entries = [...read('deploy/docker-compose.yml').matchAll(/"([a-z]+\/main\.ts)"/g), ...docker.matchAll(/"([a-z]+\/main\.ts)"/g)].map((m) => m[1]);
    expect(entries).toEqual(expect.arrayContaining(['api/main.ts', 'workers/main.ts']));
    for (const e of entries) expect(fs.existsSync(path.join(root, e))).toBe(true);
  });
});
