import { z } from 'zod';
import {
  accountViewSchema,
  auditEntrySchema,
  auditPageSchema,
  createAccountSchema,
  creditSchema,
  errorSchema,
  merchantRuleSchema,
  transactionAnswerSchema,
  transactionBodySchema,
  transactionPageSchema,
  transactionViewSchema,
} from './schemas.js';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests (zod's own JSON Schema
 * output; OpenAPI 3.1 schemas are JSON Schema 2020-12).
 */
export function openApiDocument(): object {
  const registry = z.registry<{ id: string }>();
  const schemas = {
    TransactionRequest: transactionBodySchema,
    TransactionAnswer: transactionAnswerSchema,
    CreateAccount: createAccountSchema,
    Credit: creditSchema,
    MerchantRule: merchantRuleSchema,
    Account: accountViewSchema,
    Transaction: transactionViewSchema,
    TransactionPage: transactionPageSchema,
    AuditEntry: auditEntrySchema,
    AuditPage: auditPageSchema,
    Error: errorSchema,
  };
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  const components = Object.fromEntries(
    Object.entries(generated.schemas).map(([id, schema]) => {
      const { $schema: _ignored, ...rest } = schema;
      return [id, rest];
    }),
  );

  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const reasonHeader = {
    'Catraca-Reason': {
      description:
        'approved, insufficient_funds, invalid_request, unknown_account, id_conflict, deadline_exceeded, unavailable, ' +
        'rate_limited, in_progress (a duplicate of an id still being processed: retry with the same id), ' +
        'outcome_unknown (the commit reply was lost: retry with the same id)',
      schema: { type: 'string' },
    },
    'Catraca-Transaction-Id': { description: 'The transaction id (the client\'s or one the server made)', schema: { type: 'string' } },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Catraca',
      version: '0.1.0',
      description: 'Card-transaction authorizer for multi-benefit cards (FOOD, MEAL, CASH).',
    },
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths: {
      '/transactions': {
        post: {
          summary: 'Authorize a purchase',
          description: 'HTTP 200 whenever the body could be read; the body is exactly one of the three codes.',
          requestBody: { required: true, content: { 'application/json': { schema: ref('TransactionRequest') } } },
          responses: {
            '200': { ...json(ref('TransactionAnswer'), '00 approved, 51 insufficient funds, 07 other'), headers: reasonHeader },
            '401': error('Missing or invalid credentials'),
            '403': error('Embedded default only: a Host or Origin that is not loopback'),
            '408': { description: 'The request (headers or body) did not arrive in time; the connection is closed' },
            '413': error('Body over the size limit'),
          },
        },
      },
      '/accounts': {
        post: {
          summary: 'Create an account',
          requestBody: { required: true, content: { 'application/json': { schema: ref('CreateAccount') } } },
          responses: { '201': json(ref('Account'), 'Created'), '400': error('Invalid'), '409': error('Exists') },
        },
      },
      '/accounts/{id}': {
        get: {
          summary: 'Read an account',
          parameters: [id],
          responses: { '200': json(ref('Account'), 'The account'), '404': error('Unknown account') },
        },
      },
      '/accounts/{id}/credits': {
        post: {
          summary: 'Credit (top up) one category, idempotently',
          parameters: [id],
          requestBody: { required: true, content: { 'application/json': { schema: ref('Credit') } } },
          responses: {
            '201': json(ref('Transaction'), 'Credited'),
            '200': json(ref('Transaction'), 'Replay of an earlier credit with the same id'),
            '400': error('Invalid'),
            '404': error('Unknown account'),
            '409': error('Id reused with another payload'),
            '503': error('Store or lock unavailable, or deadline reached; nothing applied, retry with the same id'),
          },
        },
      },
      '/accounts/{id}/transactions': {
        get: {
          summary: "An account's transactions, newest first",
          parameters: [
            id,
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'nextCursor of the previous page' },
          ],
          responses: { '200': json(ref('TransactionPage'), 'A page'), '404': error('Unknown account') },
        },
      },
      '/merchant-rules': {
        get: {
          summary: 'List merchant rules',
          responses: { '200': json({ type: 'array', items: ref('MerchantRule') }, 'The rules') },
        },
        put: {
          summary: 'Create or replace the rule for a match',
          requestBody: { required: true, content: { 'application/json': { schema: ref('MerchantRule') } } },
          responses: { '200': json(ref('MerchantRule'), 'Stored (normalized)'), '400': error('Invalid') },
        },
      },
      '/merchant-rules/{match}': {
        delete: {
          summary: 'Remove a rule (URL-encoded match)',
          parameters: [{ name: 'match', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '204': { description: 'Removed' }, '404': error('No such rule') },
        },
      },
      '/audit': {
        get: {
          summary: 'The audit trail of admin actions, newest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'nextCursor of the previous page' },
          ],
          responses: { '200': json(ref('AuditPage'), 'A page'), '401': error('Missing or invalid credentials') },
        },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: dependencies reachable',
          security: [],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'Metrics' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI' } } } },
    },
  };
}
