// The OpenAPI 3.0 document `GET /v1/openapi.json` serves: the score endpoint, its two request forms and its
// answer (generated from the same zod schemas that check requests and shape answers), and every error it gives.
// Pure.
import { z } from 'zod';
import { formatBytes } from './http.js';
import { changeRequestSchema, manifestRequestSchema } from './score-request.js';
import { scoreResponseSchema } from './score-response.js';

export interface ScoreApiLimits {
  maxBodyBytes: number;
  ratePerSecond: number;
  burst: number;
}

const errorSchema = z
  .object({
    error: z.string().describe('What went wrong, in a sentence a person understands.'),
    details: z.array(z.string()).optional().describe('Each problem with the request, with the field it is about.'),
  })
  .describe('Every error the score API gives has this shape.');

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const errorResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

export function openApiDocument(limits: ScoreApiLimits, version = '0.1.0'): Record<string, unknown> {
  const size = formatBytes(limits.maxBodyBytes);
  return {
    openapi: '3.0.3',
    info: {
      title: 'rollguard score API',
      version,
      description:
        'The risk assessment the rollguard controller would make for a Deployment rollout, before it is applied: the same features, model, policy and rules. Served by the controller when started with --score-api.',
    },
    paths: {
      '/v1/score': {
        post: {
          operationId: 'score',
          summary: 'Assess a Deployment manifest or a described change',
          description: `Scores a Deployment manifest, or a change description (the rollguard.io/ annotations CI would put on the pod template) for the named running Deployment, with the governing policy, the running template, the Deployment's history and live Prometheus signals as the controller sees them now. Nothing is written to the cluster. The caller must be allowed to read Deployments in the namespace. Requests are limited to ${size} and to ${limits.ratePerSecond} per second per caller (bursts of ${limits.burst}).`,
          security: [{ kubernetesToken: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    { $ref: '#/components/schemas/ManifestRequest' },
                    { $ref: '#/components/schemas/ChangeRequest' },
                  ],
                },
                examples: {
                  manifest: {
                    summary: 'A manifest',
                    value: {
                      deployment: {
                        apiVersion: 'apps/v1',
                        kind: 'Deployment',
                        metadata: { name: 'cart', namespace: 'shop' },
                        spec: {
                          template: {
                            metadata: { annotations: { 'rollguard.io/lines-added': '1200' } },
                            spec: { containers: [{ name: 'app', image: 'registry.example/cart:1.5.0' }] },
                          },
                        },
                      },
                    },
                  },
                  change: {
                    summary: 'A change description for a running Deployment',
                    value: {
                      namespace: 'shop',
                      deployment: 'cart',
                      changeDescription: { 'rollguard.io/lines-added': '1200', 'rollguard.io/change-type': 'feature' },
                    },
                  },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'The assessment.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ScoreResponse' } } },
            },
            '400': errorResponse('The body is not JSON, or not a valid request; details name each field.'),
            '401': errorResponse('No bearer token, or one the Kubernetes API did not accept.', {
              'WWW-Authenticate': { schema: { type: 'string' } },
            }),
            '403': errorResponse(
              'The caller may not read Deployments in the namespace, so it may not score rollouts there.',
            ),
            '405': errorResponse('Only POST is allowed.', { Allow: { schema: { type: 'string' } } }),
            '408': errorResponse('The body took too long to arrive.'),
            '413': errorResponse(`The body is larger than ${size}.`),
            '415': errorResponse('The body is not declared as JSON (Content-Type: application/json).'),
            '429': errorResponse('Too many requests from this caller; Retry-After says how many seconds to wait.', {
              'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before trying again.' },
            }),
            '500': errorResponse('The assessment failed unexpectedly.'),
            '503': errorResponse('The bearer token could not be checked, or the controller has not synced yet.'),
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          responses: { '200': { description: 'The OpenAPI document.', content: { 'application/json': {} } } },
        },
      },
    },
    components: {
      securitySchemes: {
        kubernetesToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A Kubernetes bearer token (for example from `kubectl create token <serviceaccount>`), checked with a TokenReview.',
        },
      },
      schemas: {
        ManifestRequest: schemaOf(manifestRequestSchema),
        ChangeRequest: schemaOf(changeRequestSchema),
        ScoreResponse: schemaOf(scoreResponseSchema),
        Error: schemaOf(errorSchema),
      },
    },
  };
}
