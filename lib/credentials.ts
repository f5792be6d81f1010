/**
 * Credentials of outbound platforms (bot tokens, incoming-webhook URLs, signing secrets): a robot definition names
 * one, and the activity that needs it resolves the name on the worker, so the secret never enters a definition,
 * a run's input, its history, events, state or the page. Two sources, in this order:
 *
 * 1. the worker's environment: `MC_CREDENTIAL_<NAME>` (`slack-bot` → `MC_CREDENTIAL_SLACK_BOT`); only variables
 *    with this prefix can be named, so a definition cannot reach any other variable of the worker;
 * 2. the encrypted credential store: stored with `PUT /api/credentials/:name`, never returned by the API.
 *
 * Where the store lives: in Temporal, like robot definitions — one paused, never-running Temporal Schedule per
 * credential (`credential-<name>`), holding the value encrypted with AES-256-GCM under a key derived from
 * MC_SECRET_KEY (HKDF-SHA256; the credential's name is the additional data, so a ciphertext cannot be moved to
 * another name). Every API replica and every worker on any host reaches it through the Temporal connection it
 * already has; no shared disk and no other database. Temporal holds only ciphertext: whoever can read Temporal
 * cannot read a credential without MC_SECRET_KEY, which all API replicas and workers must share.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { credentialEnvName } from '../contracts/delivery';
import type { Config } from './config';

/** The key from MC_SECRET_KEY, else one generated once into the data folder (mode 0600). */
export function resolveSecretKey(c: Pick<Config, 'MC_SECRET_KEY' | 'MC_DATA_DIR'>): string {
  if (c.MC_SECRET_KEY) return c.MC_SECRET_KEY;
  const file = path.join(c.MC_DATA_DIR, 'secret-key');
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key) return key;
  }
  const key = randomBytes(32).toString('base64url');
  fs.mkdirSync(c.MC_DATA_DIR, { recursive: true });
  // 'wx': if another process (the API and a worker starting together) wrote it first, use theirs.
  try {
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    return fs.readFileSync(file, 'utf8').trim();
  }
}

/** An encrypted value as stored: version, IV, auth tag and ciphertext (base64). */
export interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

const keyOf = (secretKey: string) => Buffer.from(hkdfSync('sha256', secretKey, 'mission-control', 'credentials v1', 32));

/** Encrypt a value for the credential `name` (bound to it as additional data). */
export function seal(secretKey: string, name: string, value: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secretKey), iv);
  cipher.setAAD(Buffer.from(name));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Decrypt; throws when the key is wrong or the value was altered or moved to another name. */
export function unseal(secretKey: string, name: string, sealed: Sealed): string {
  const decipher = createDecipheriv('aes-256-gcm', keyOf(secretKey), Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(name));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
}

/** What the API shows of a credential: never its value. */
export interface CredentialInfo {
  name: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

interface StoredCredential extends CredentialInfo {
  sealed: Sealed;
}

export const credentialScheduleId = (name: string) => `credential-${name}`;
const KIND = 'mission-control-credential';
const NOTE = 'mc:credential: holds an encrypted credential; never runs';

export class CredentialNotFound extends Error {}

/** The encrypted store in Temporal (see above). The API stores and lists; workers resolve. */
export class CredentialStore {
  private key?: string;

  /** `secretKey`: the key, or a function giving it (read the first time a value is sealed or unsealed). */
  constructor(
    private readonly client: Client,
    private readonly secretKey: string | (() => string),
  ) {}

  private get keyValue(): string {
    return (this.key ??= typeof this.secretKey === 'string' ? this.secretKey : this.secretKey());
  }

  private async stored(name: string): Promise<StoredCredential | undefined> {
    try {
      const desc = await this.client.schedule.getHandle(credentialScheduleId(name)).describe();
      if ((desc.memo as { kind?: string } | undefined)?.kind !== KIND || desc.action.type !== 'startWorkflow') return undefined;
      return desc.action.memo?.credential as StoredCredential | undefined;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
  }

  /** Store (create or replace) a credential. */
  async put(name: string, value: string, description?: string): Promise<CredentialInfo> {
    const now = new Date().toISOString();
    const existing = await this.stored(name);
    const record: StoredCredential = { name, description, createdAt: existing?.createdAt ?? now, updatedAt: now, sealed: seal(this.keyValue, name, value) };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'credentialHolder',
      // Nothing polls this queue and the schedule is paused with no spec: it never starts anything. Should someone
      // trigger it by hand, the workflow times out at once.
      taskQueue: 'mc-credentials-never-run',
      workflowExecutionTimeout: 1000,
      args: [],
      memo: { credential: record },
    };
    if (existing) {
      await this.client.schedule.getHandle(credentialScheduleId(name)).update((prev) => ({ ...prev, action }));
    } else {
      await this.client.schedule.create({ scheduleId: credentialScheduleId(name), spec: {}, action, memo: { kind: KIND }, state: { paused: true, note: NOTE } });
    }
    const { sealed: _sealed, ...info } = record;
    return info;
  }

  async info(name: string): Promise<CredentialInfo | undefined> {
    const s = await this.stored(name);
    if (!s) return undefined;
    const { sealed: _sealed, ...info } = s;
    return info;
  }

  async list(): Promise<CredentialInfo[]> {
    const names: string[] = [];
    for await (const s of this.client.schedule.list()) {
      if (s.scheduleId.startsWith('credential-') && (s.memo as { kind?: string } | undefined)?.kind === KIND) names.push(s.scheduleId.slice('credential-'.length));
    }
    const infos = await Promise.all(names.map((n) => this.info(n)));
    return infos.filter((i): i is CredentialInfo => !!i).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Delete; false when there was none. */
  async delete(name: string): Promise<boolean> {
    try {
      await this.client.schedule.getHandle(credentialScheduleId(name)).delete();
      return true;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return false;
      throw err;
    }
  }

  /** The secret itself: for the worker's activities only (never returned by the API). */
  async reveal(name: string): Promise<string | undefined> {
    const s = await this.stored(name);
    return s ? unseal(this.keyValue, name, s.sealed) : undefined;
  }
}

/**
 * Resolve a credential by name: the environment first (`MC_CREDENTIAL_<NAME>`), then the store. Throws
 * CredentialNotFound naming where it looked (never a value).
 */
export async function resolveCredential(name: string, sources: { env: NodeJS.ProcessEnv; store?: Pick<CredentialStore, 'reveal'> }): Promise<string> {
  const fromEnv = sources.env[credentialEnvName(name)];
  if (fromEnv && fromEnv.trim()) return fromEnv.trim();
  const stored = await sources.store?.reveal(name);
  if (stored) return stored;
  throw new CredentialNotFound(`credential "${name}" not found: set ${credentialEnvName(name)} on the worker or store it with PUT /api/credentials/${name}`);
}
