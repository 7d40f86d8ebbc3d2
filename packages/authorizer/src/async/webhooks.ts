import { z } from 'zod';

/** A client's registered callback: where its decisions go and the secret they are signed with. */
export const webhookSchema = z.object({
  client: z.string().min(1).max(128),
  url: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL'),
  secret: z.string().min(16).max(512),
  updatedAt: z.string(),
  /** Who registered it: the credential's name when credentials are named, else the request id. */
  updatedBy: z.string(),
});
export type Webhook = z.output<typeof webhookSchema>;

/** `PUT /async/webhooks/:client` body. */
export const webhookBodySchema = z.object({
  url: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
    .meta({ description: 'Where decisions are POSTed', examples: ['https://acquirer.example/catraca/decisions'] }),
  secret: z.string().min(16).max(512).meta({ description: 'Shared secret of the HMAC-SHA256 signature (16+ characters)' }),
});

/** What the admin API shows of a webhook: never its secret. */
export function webhookView(hook: Webhook): { client: string; url: string; updatedAt: string; updatedBy: string } {
  return { client: hook.client, url: hook.url, updatedAt: hook.updatedAt, updatedBy: hook.updatedBy };
}

export type DeliveryStateName = 'pending' | 'retrying' | 'delivered' | 'dead_lettered';

/** Where one decision's webhook delivery stands (deliveries topic, keyed by transaction id). */
export const deliveryStateSchema = z.object({
  id: z.string(),
  account: z.string(),
  client: z.string(),
  code: z.enum(['00', '51', '07']),
  state: z.enum(['pending', 'retrying', 'delivered', 'dead_lettered']),
  attempts: z.number().int().nonnegative(),
  /** The HTTP status or error of the last failed attempt. */
  lastError: z.string().optional(),
  /** How many admin replays this delivery went through. */
  replay: z.number().int().nonnegative().optional(),
  decidedAt: z.number().int(),
  deliveredAt: z.number().int().optional(),
  updatedAt: z.number().int(),
});
export type DeliveryState = z.output<typeof deliveryStateSchema>;

/** A delivery parked in the dead-letter topic. */
export const deadLetterSchema = z.object({
  decision: z.object({
    v: z.literal(1),
    id: z.string(),
    account: z.string(),
    code: z.enum(['00', '51', '07']),
    reason: z.string(),
    client: z.string(),
    acceptedAt: z.number().int(),
    decidedAt: z.number().int(),
    replay: z.number().int().nonnegative().optional(),
  }),
  reason: z.enum(['retries_exhausted', 'no_webhook']),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  parkedAt: z.number().int(),
});
export type DeadLetter = z.output<typeof deadLetterSchema>;
