/**
 * Determinism guard: every recorded history in test/histories/ must replay against today's workflow code.
 * A change that breaks one needs `patched()`/versioning (running histories in the field would break the same way).
 * Record new ones beside them after a workflow change: `npm run record:histories -- --tag <tag>` (it never overwrites one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../testkit/temporal';

const dir = path.join(__dirname, 'histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];

test('When the recorded histories are replayed, then there are some and none hits a nondeterminism error', async () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
  for (const f of files) {
    const history = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, f.replace(/\.json$/, ''))).resolves.toBeUndefined();
  }
});
