/**
 * deploy/k8s/ validated by a schema-aware tool: kubeconform (built with `go install`) in strict mode against the
 * Kubernetes API schemas and KEDA's ScaledObject CRD, both generated offline from their Go modules
 * (scripts/k8s-validate.ts). It needs Go like the rest of this suite, hence its place here. The broken copies
 * show the check can fail: an unknown field, a wrong type, and a bad field in the KEDA object are each refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { validateManifests } from '../../scripts/k8s-validate';

const root = path.resolve(__dirname, '..', '..');
const k8s = path.join(root, 'deploy', 'k8s');
const files = fs.readdirSync(k8s).filter((f) => f.endsWith('.yaml')).map((f) => path.join(k8s, f));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-k8s-'));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of one document of a manifest, changed by `edit`. */
function broken(file: string, kind: string, edit: (doc: any) => void): string {
  const doc = YAML.parseAllDocuments(fs.readFileSync(path.join(k8s, file), 'utf8')).map((d) => d.toJS()).find((d) => d.kind === kind);
  edit(doc);
  const out = path.join(tmp, `${kind}-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(out, YAML.stringify(doc));
  return out;
}

test('When kubeconform checks deploy/k8s strictly against the Kubernetes and KEDA schemas, then every resource is valid', () => {
  const { ok, resources } = validateManifests(files);
  const invalid = resources.filter((r) => r.status !== 'statusValid');
  expect(invalid).toEqual([]);
  expect(ok).toBe(true);
  expect(resources.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([
    'ConfigMap/mission-control',
    'Deployment/mission-control-api',
    'Deployment/mission-control-worker',
    'HorizontalPodAutoscaler/mission-control-api',
    'PersistentVolumeClaim/mission-control-artifacts',
    'PodDisruptionBudget/mission-control-api',
    'PodDisruptionBudget/mission-control-worker',
    'ScaledObject/mission-control-worker',
    'Service/mission-control-api',
  ]);
}, 900_000);

test('When a manifest has an unknown field, a wrong type or a bad KEDA field, then kubeconform refuses it', () => {
  const cases = [
    broken('api.yaml', 'Deployment', (d) => (d.spec.replica = 2)),
    broken('api.yaml', 'Deployment', (d) => (d.spec.template.spec.containers[0].ports[0].containerPort = 'three thousand')),
    broken('api.yaml', 'HorizontalPodAutoscaler', (d) => (d.spec.metrics[0].resource.target.averageUtilisation = 70)),
    broken('worker.yaml', 'ScaledObject', (d) => (d.spec.maxReplicas = 20)),
    broken('worker.yaml', 'ScaledObject', (d) => (d.spec.triggers[0].metadata = 'temporal')),
  ];
  for (const file of cases) {
    const { ok, resources } = validateManifests([file]);
    expect({ file: path.basename(file), ok }).toEqual({ file: path.basename(file), ok: false });
    expect(resources[0].status).toBe('statusInvalid');
  }
}, 300_000);
