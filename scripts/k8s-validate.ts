/**
 * Validates Kubernetes manifests (deploy/k8s/) with kubeconform against JSON schemas generated here, offline, from
 * sources fetched through the Go module proxy only:
 *   - kubeconform itself: `go install github.com/yannh/kubeconform/cmd/kubeconform@<version>` into .tools/kubeconform;
 *   - the Kubernetes API: the OpenAPI document (api/openapi-spec/swagger.json) shipped in the k8s.io/kubernetes module;
 *   - KEDA's ScaledObject: the CRD (config/crd/bases/keda.sh_scaledobjects.yaml) shipped in the KEDA module.
 * Schemas are strict (unknown fields are errors), in kubeconform's file layout, under .tools/k8s-schemas/.
 *
 *   npm run validate:k8s                       # deploy/k8s/*.yaml
 *   node --import tsx scripts/k8s-validate.ts some.yaml other.yaml
 *
 * The JSON Schema conversion follows kubeconform's own openapi2jsonschema: definitions become standalone schemas
 * (references inlined), objects with declared properties refuse others, int-or-string and quantities accept both.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export const KUBECONFORM_VERSION = 'v0.7.0';
/** Kubernetes API version the manifests are checked against. */
export const KUBERNETES_VERSION = 'v1.33.13';
/** KEDA version whose ScaledObject CRD is used (the `temporal` scaler exists since KEDA 2.17). */
export const KEDA_VERSION = 'v2.21.0';

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, '.tools');
const SCHEMAS = path.join(TOOLS, 'k8s-schemas', `kubernetes-${KUBERNETES_VERSION}-keda-${KEDA_VERSION}`);

type Schema = Record<string, any>;

function go(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('go', args, { cwd: os.tmpdir(), encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', ...env } });
  if (r.error) {
    throw new Error(
      `go is needed to build kubeconform and fetch the Kubernetes/KEDA schemas through the Go module proxy (${r.error.message}). ` +
        'Install Go (Debian: apt-get install golang-go), then run this again.',
    );
  }
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** Where a module version is in Go's module cache (downloading it through the proxy if needed). */
const moduleDir = (mod: string, version: string): string => JSON.parse(go(['mod', 'download', '-json', `${mod}@${version}`])).Dir;

export function ensureKubeconform(): string {
  const bin = path.join(TOOLS, 'kubeconform', KUBECONFORM_VERSION, 'kubeconform');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  go(['install', `github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}`], { GOBIN: path.dirname(bin) });
  return bin;
}

/** kubeconform's file name for a kind: `<kind>-<group prefix>-<version>.json` (core: `<kind>-<version>.json`). */
function schemaFile(group: string, version: string, kind: string): string {
  const prefix = group ? `-${group.split('.')[0].toLowerCase()}` : '';
  return `${kind.toLowerCase()}${prefix}-${version.toLowerCase()}.json`;
}

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY = { oneOf: [{ type: 'string' }, { type: 'number' }] };

/** Make an OpenAPI schema a strict, standalone JSON Schema (draft 4), inlining `#/definitions/...` references. */
function strict(node: Schema, definitions: Record<string, Schema>, seen: string[] = []): Schema {
  if (node.$ref) {
    const name = String(node.$ref).replace('#/definitions/', '');
    if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') return INT_OR_STRING;
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') return QUANTITY;
    // Recursive types (JSONSchemaProps) are left open rather than inlined forever.
    if (seen.includes(name)) return {};
    const target = definitions[name];
    if (!target) throw new Error(`unknown definition ${name}`);
    return strict(target, definitions, [...seen, name]);
  }
  if (node['x-kubernetes-int-or-string'] || node.format === 'int-or-string') return INT_OR_STRING;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-kubernetes-') || k === 'format' || k === 'x-nullable') continue;
    if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, strict(s as Schema, definitions, seen)]));
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = strict(v as Schema, definitions, seen);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map((s) => strict(s, definitions, seen));
    else out[k] = v;
  }
  if (out.properties && out.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

/** Generates the schemas (once) and returns their folder. */
export function ensureSchemas(): string {
  const marker = path.join(SCHEMAS, '.complete');
  if (fs.existsSync(marker)) return SCHEMAS;
  fs.rmSync(SCHEMAS, { recursive: true, force: true });
  fs.mkdirSync(SCHEMAS, { recursive: true });

  const swagger = JSON.parse(fs.readFileSync(path.join(moduleDir('k8s.io/kubernetes', KUBERNETES_VERSION), 'api', 'openapi-spec', 'swagger.json'), 'utf8'));
  const definitions = swagger.definitions as Record<string, Schema>;
  for (const [, def] of Object.entries(definitions)) {
    for (const gvk of (def['x-kubernetes-group-version-kind'] ?? []) as { group: string; version: string; kind: string }[]) {
      // Only top-level kinds a manifest can hold (they have apiVersion and kind).
      if (!def.properties?.apiVersion || !def.properties?.kind) continue;
      const schema = strict(def, definitions);
      schema.properties.apiVersion = { type: 'string', enum: [gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version] };
      schema.properties.kind = { type: 'string', enum: [gvk.kind] };
      fs.writeFileSync(path.join(SCHEMAS, schemaFile(gvk.group, gvk.version, gvk.kind)), JSON.stringify(schema));
    }
  }

  const keda = path.join(moduleDir('github.com/kedacore/keda/v2', KEDA_VERSION), 'config', 'crd', 'bases');
  for (const file of fs.readdirSync(keda).filter((f) => f.endsWith('.yaml'))) {
    const crd = YAML.parse(fs.readFileSync(path.join(keda, file), 'utf8'));
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const v of crd.spec.versions as { name: string; schema: { openAPIV3Schema: Schema } }[]) {
      const schema = strict(v.schema.openAPIV3Schema, {});
      schema.properties.apiVersion = { type: 'string', enum: [`${crd.spec.group}/${v.name}`] };
      schema.properties.kind = { type: 'string', enum: [crd.spec.names.kind] };
      // A CRD's schema leaves metadata open; give it the real ObjectMeta so typos there are caught too.
      schema.properties.metadata = strict({ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }, definitions);
      fs.writeFileSync(path.join(SCHEMAS, schemaFile(crd.spec.group, v.name, crd.spec.names.kind)), JSON.stringify(schema));
    }
  }
  fs.writeFileSync(marker, `kubernetes ${KUBERNETES_VERSION}, keda ${KEDA_VERSION}\n`);
  return SCHEMAS;
}

export interface ValidationResult {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
  msg: string;
}

/** kubeconform -strict over the files, with only our schemas (a kind without one is an error, not a skip). */
export function validateManifests(files: string[]): { ok: boolean; resources: ValidationResult[] } {
  const bin = ensureKubeconform();
  const schemas = ensureSchemas();
  const r = spawnSync(
    bin,
    ['-strict', '-summary', '-output', 'json', '-verbose', '-kubernetes-version', KUBERNETES_VERSION.slice(1), '-schema-location', `${schemas}/{{ .ResourceKind }}{{ .KindSuffix }}.json`, ...files],
    { encoding: 'utf8' },
  );
  const report = JSON.parse(r.stdout || '{}') as { resources?: ValidationResult[] };
  return { ok: r.status === 0, resources: report.resources ?? [] };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const dir = path.join(ROOT, 'deploy', 'k8s');
  const files = args.length ? args : fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));
  try {
    const { ok, resources } = validateManifests(files);
    for (const res of resources) {
      const where = `${path.relative(ROOT, res.filename)}: ${res.kind}/${res.name}`;
      process.stdout.write(res.status === 'statusValid' ? `valid    ${where}\n` : `INVALID  ${where}: ${res.msg}\n`);
    }
    process.stdout.write(ok ? `${resources.length} resources valid (Kubernetes ${KUBERNETES_VERSION}, KEDA ${KEDA_VERSION}, strict)\n` : 'validation failed\n');
    process.exit(ok ? 0 : 1);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
