/**
 * /api/credentials: store, list, show and delete the credentials robot definitions name (bot tokens, webhook URLs,
 * signing secrets). Values go in encrypted (lib/credentials.ts) and never come out: every answer is the name,
 * description and times only.
 */
import { z } from 'zod';
import { CredentialName } from '../../contracts/delivery';
import type { CredentialStore } from '../../lib/credentials';
import { NotFound } from '../errors';
import { route, type RouteDef } from '../http/route';
import { named } from '../http/openapi';

const CredentialParams = z.object({ name: CredentialName }).strict();
export const PutCredentialBody = named(
  'PutCredentialBody',
  z
    .object({
      value: z.string().min(1).max(8192).describe('The secret; stored encrypted, never returned'),
      description: z.string().trim().max(500).optional(),
    })
    .strict(),
);
export const CredentialInfo = named(
  'CredentialInfo',
  z.object({ name: z.string(), description: z.string().optional(), createdAt: z.string(), updatedAt: z.string() }),
  'A stored credential: never its value',
);

export function credentialRoutes(store: CredentialStore): RouteDef[] {
  return [
    route(
      { method: 'get', path: '/api/credentials', tag: 'credentials', summary: 'List stored credentials (names only)', responses: { 200: ['The credentials', z.object({ credentials: z.array(CredentialInfo) })] } },
      async () => ({ credentials: await store.list() }),
    ),
    route(
      {
        method: 'put',
        path: '/api/credentials/:name',
        tag: 'credentials',
        summary: 'Store (or replace) a credential',
        description: 'Encrypted with MC_SECRET_KEY and kept in Temporal; robot definitions name it (e.g. a Slack destination\'s `credential`). The answer never contains the value.',
        params: CredentialParams,
        body: PutCredentialBody,
        responses: { 200: ['Stored', CredentialInfo] },
      },
      ({ params, body }) => store.put(params.name, body.value, body.description),
    ),
    route(
      { method: 'get', path: '/api/credentials/:name', tag: 'credentials', summary: 'Show a credential (never its value)', params: CredentialParams, responses: { 200: ['The credential', CredentialInfo], 404: 'No credential of this name' } },
      async ({ params }) => {
        const info = await store.info(params.name);
        if (!info) throw NotFound.of('credential');
        return info;
      },
    ),
    route(
      { method: 'delete', path: '/api/credentials/:name', tag: 'credentials', summary: 'Delete a credential', params: CredentialParams, responses: { 200: ['Deleted', z.object({ name: z.string(), deleted: z.literal(true) })], 404: 'No credential of this name' } },
      async ({ params }) => {
        if (!(await store.delete(params.name))) throw NotFound.of('credential');
        return { name: params.name, deleted: true as const };
      },
    ),
  ];
}
