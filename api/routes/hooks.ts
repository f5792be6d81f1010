/**
 * POST /hooks/:robotId — signed webhook trigger. Authenticated by its HMAC signature, not by an API key, and
 * verified over the exact bytes received, so it is mounted before express.json and requireAuth with a raw parser.
 */
import express, { Router } from 'express';
import type { RobotService } from '../robots/service';
import { RobotIdParams } from '../schemas';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../robots/webhook-signature';

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function hooksRouter(robots: RobotService, maxBody: string): Router {
  const r = Router();
  r.post('/:robotId', express.raw({ type: () => true, limit: maxBody }), async (req, res) => {
    const { id } = RobotIdParams.parse({ id: req.params.robotId });
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await robots.deliver(id, raw, {
      signature: header(req.headers[SIGNATURE_HEADER]),
      timestamp: header(req.headers[TIMESTAMP_HEADER]),
      deliveryId: header(req.headers[DELIVERY_HEADER]),
    });
    res.status(result.status).json(result.body);
  });
  return r;
}
