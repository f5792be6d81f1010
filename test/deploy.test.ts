/**
 * deploy/ cannot be run here (no Docker engine, no Kubernetes), so these checks keep it from drifting from the code:
 * the compose file has the production topology, every variable it or the manifests set is one the app reads and
 * parses, every path they copy, mount or run exists. (The manifests are also validated against the Kubernetes and
 * KEDA schemas by kubeconform: test/cluster/manifests.test.ts, in `npm run test:cluster`.)
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { EnvSchema, loadConfig } from '../lib/config';

const root = path.resolve(__dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');
const known = Object.keys(EnvSchema.shape);
const isAppVar = (v: string) => /^(MC|TEMPORAL|OPENAI|ANTHROPIC|PORT)(_|$)/.test(v);

/** The compose file as Compose reads it: anchors merged, `${VAR:-default}` / `${VAR:?msg}` given sample values. */
function compose(): any {
  const text = read('deploy/docker-compose.yml').replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_m, name: string, fallback?: string) =>
    /KEYS|KEY$|PASSWORD/.test(name) ? `sample-${name.toLowerCase()}` : name === 'MC_WORKERS' ? '2' : (fallback ?? ''),
  );
  return YAML.parse(text, { merge: true });
}

/** Every document of every manifest in deploy/k8s/. */
function manifests(): any[] {
  const dir = path.join(root, 'deploy', 'k8s');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean);
}

describe('docker compose', () => {
  test('When the compose file is read, then it has the production topology: PostgreSQL, schema setup with the admin tools, temporal-server, Web UI, workers, two API replicas behind a proxy', () => {
    const c = compose();
    expect(Object.keys(c.services).sort()).toEqual(['api', 'postgresql', 'proxy', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker']);
    const images = Object.values(c.services).map((s: any) => s.image ?? 'build');
    expect(images.filter((i) => /auto-setup/.test(i))).toEqual([]);
    expect(c.services.temporal.image).toMatch(/^temporalio\/server:/);
    expect(c.services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(c.services.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    // Order: schema before the server, namespace before the app, app replicas healthy before the proxy.
    expect(c.services.temporal.depends_on['temporal-schema'].condition).toBe('service_completed_successfully');
    expect(c.services.api.depends_on['temporal-setup'].condition).toBe('service_completed_successfully');
    expect(c.services.worker.depends_on['temporal-setup'].condition).toBe('service_completed_successfully');
    expect(c.services.proxy.depends_on.api.condition).toBe('service_healthy');
    expect(c.services.api.deploy.replicas).toBe(2);
    expect(Number(c.services.worker.deploy.replicas)).toBeGreaterThanOrEqual(2);
    expect(c.services.api.healthcheck.test.join(' ')).toContain('/readyz');
    // The proxy reaches every API replica, and does not buffer server-sent events.
    const nginx = read('deploy/nginx.conf');
    expect(nginx).toMatch(/set \$api http:\/\/api:3000;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    expect(c.services.proxy.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  test('When the compose file sets an app variable, then the configuration schema knows it and parses the values', () => {
    const c = compose();
    for (const name of ['api', 'worker']) {
      // An empty substitution (`${OPENAI_API_KEY:-}`) is an empty string to Compose, null to a YAML parser.
      const env = Object.fromEntries(Object.entries(c.services[name].environment as Record<string, string | null>).map(([k, v]) => [k, v ?? '']));
      const vars = Object.keys(env).filter(isAppVar);
      expect(vars.length).toBeGreaterThan(5);
      expect(vars.filter((v) => !known.includes(v))).toEqual([]);
      // The Dockerfile's ENV and the service's environment, as the process would see them, make a valid config.
      const dockerEnv = Object.fromEntries([...read('deploy/Dockerfile').matchAll(/(MC_\w+|PORT)=(\S+)/g)].map((m) => [m[1], m[2]]));
      const config = loadConfig({ ...dockerEnv, ...env });
      expect(config.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(config.MC_HOST).toBe('0.0.0.0');
    }
    // Replicas must share the webhook master key and have credentials; the worker needs neither.
    expect(c.services.api.environment).toMatchObject({ MC_API_KEYS: expect.any(String), MC_WEBHOOK_KEY: expect.any(String) });
  });

  test('When the API replicas and the workers run, then they share the credential-store key and the artifacts volume', () => {
    const c = compose();
    const { api, worker } = c.services;
    expect(api.environment.MC_SECRET_KEY).toBeTruthy();
    expect(api.environment.MC_SECRET_KEY).toBe(worker.environment.MC_SECRET_KEY);
    const dir = api.environment.MC_ARTIFACT_DIR;
    expect(dir).toBeTruthy();
    expect(worker.environment.MC_ARTIFACT_DIR).toBe(dir);
    for (const s of [api, worker]) expect(s.volumes).toContain(`artifacts:${dir}`);
    expect(Object.keys(c.volumes)).toContain('artifacts');
  });

  test('When the compose file mounts or runs a file of ours, then it exists', () => {
    const c = compose();
    const mounts = Object.values(c.services).flatMap((s: any) => (s.volumes ?? []) as string[]).filter((v) => v.startsWith('./'));
    expect(mounts.length).toBeGreaterThan(3);
    for (const m of mounts) expect(fs.existsSync(path.join(root, 'deploy', m.split(':')[0]))).toBe(true);
    for (const s of ['temporal-schema', 'temporal-setup']) {
      const script = (c.services[s].entrypoint as string[]).at(-1)!.replace('/mc-temporal/', 'deploy/temporal/');
      expect(fs.existsSync(path.join(root, script))).toBe(true);
    }
    expect(c.services.temporal.environment.DYNAMIC_CONFIG_FILE_PATH.replace('/mc-temporal/', 'deploy/temporal/')).toBe('deploy/temporal/dynamicconfig.yaml');
    expect(fs.existsSync(path.join(root, 'deploy/temporal/dynamicconfig.yaml'))).toBe(true);
  });
});

describe('Kubernetes manifests', () => {
  test('When the manifests are read, then the API has a Deployment, Service, probes and HPA, and the workers a Deployment scaled by backlog', () => {
    const docs = manifests();
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/mission-control',
        'Deployment/mission-control-api',
        'Service/mission-control-api',
        'HorizontalPodAutoscaler/mission-control-api',
        'Deployment/mission-control-worker',
        'ScaledObject/mission-control-worker',
      ]),
    );
    const api = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'mission-control-api').spec.template.spec.containers[0];
    expect(api.readinessProbe.httpGet.path).toBe('/readyz');
    expect(api.livenessProbe.httpGet.path).toBe('/healthz');
    const worker = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'mission-control-worker').spec.template.spec;
    // Graceful termination: the worker's drain fits in the pod's grace period.
    const grace = Number(worker.containers[0].env.find((e: any) => e.name === 'MC_SHUTDOWN_GRACE_SECONDS').value);
    expect(grace).toBeLessThan(worker.terminationGracePeriodSeconds);
    // The scaler watches the queue the workers poll, in their namespace, at the address they use.
    const config = docs.find((d) => d.kind === 'ConfigMap').data;
    const trigger = docs.find((d) => d.kind === 'ScaledObject').spec.triggers[0];
    expect(trigger.type).toBe('temporal');
    expect(trigger.metadata).toMatchObject({ taskQueue: config.MC_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE, endpointFromEnv: 'TEMPORAL_ADDRESS' });
  });

  test('When a manifest sets an app variable, then the configuration schema knows it and parses the values', () => {
    const docs = manifests();
    const configMap = docs.find((d) => d.kind === 'ConfigMap').data as Record<string, string>;
    const secrets = { MC_API_KEYS: 'k', MC_WEBHOOK_KEY: 'w', MC_SECRET_KEY: 's' };
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments).toHaveLength(2);
    for (const d of deployments) {
      const container = d.spec.template.spec.containers[0];
      const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
      const vars = [...Object.keys(configMap), ...Object.keys(env)];
      expect(vars.filter((v) => !known.includes(v))).toEqual([]);
      const config = loadConfig({ ...configMap, ...secrets, ...env });
      expect(config.TEMPORAL_ADDRESS).toBeDefined();
      const entry = (container.command as string[]).at(-1)!;
      expect(fs.existsSync(path.join(root, entry))).toBe(true);
      // The artifact store: the one shared claim, mounted where MC_ARTIFACT_DIR points.
      const claim = d.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
      const pvc = docs.find((x) => x.kind === 'PersistentVolumeClaim' && x.metadata.name === claim);
      expect(pvc?.spec.accessModes).toContain('ReadWriteMany');
      const volumeName = d.spec.template.spec.volumes.find((v: any) => v.persistentVolumeClaim).name;
      expect(container.volumeMounts.find((m: any) => m.name === volumeName)?.mountPath).toBe(config.MC_ARTIFACT_DIR);
    }
  });
});

describe('Dockerfile', () => {
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
