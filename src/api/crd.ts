// The CustomResourceDefinitions of rollguard's resources, built from their zod schemas: names, printer
// columns, and the structural schema, rendered as the YAML files in crds/ (written by hack/gen-crds.ts).
import { z } from 'zod';
import { Document } from 'yaml';
import { assessmentSpecSchema, assessmentStatusSchema } from './assessment.js';
import { policySpecSchema, policyStatusSchema } from './policy.js';
import { group, version } from './resources.js';
import { toStructuralSchema, type StructuralSchema } from './structural.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  format?: string;
  priority?: number;
}

/** What differs between rollguard's CRDs. */
export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export const deploymentRiskPolicyDefinition: ResourceDefinition = {
  kind: 'DeploymentRiskPolicy',
  plural: 'deploymentriskpolicies',
  singular: 'deploymentriskpolicy',
  shortNames: ['drp'],
  description:
    'DeploymentRiskPolicy says which Deployments in its namespace rollguard guards and how: it scores each new rollout for risk, pauses the risky ones for approval, verifies the new version on live Prometheus metrics and rolls back when they degrade. A policy with the empty selector {} covers every Deployment in its namespace.',
  spec: policySpecSchema,
  status: policyStatusSchema,
  printerColumns: [
    { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'enforce, advisory or shadow.' },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Whether the policy is valid and in force.',
    },
    {
      name: 'Covered',
      type: 'integer',
      jsonPath: '.status.coveredDeployments',
      description: 'Deployments the policy covers now.',
    },
    {
      name: 'Assessments',
      type: 'integer',
      jsonPath: '.status.assessments',
      description: 'Rollouts assessed under the policy.',
    },
    { name: 'Pauses', type: 'integer', jsonPath: '.status.pauses', description: 'Rollouts paused for approval.' },
    { name: 'Rollbacks', type: 'integer', jsonPath: '.status.rollbacks', description: 'Automatic rollbacks.' },
    ageColumn,
  ],
};

export const rolloutAssessmentDefinition: ResourceDefinition = {
  kind: 'RolloutAssessment',
  plural: 'rolloutassessments',
  singular: 'rolloutassessment',
  shortNames: ['ra'],
  description:
    'RolloutAssessment records what rollguard found and did for one revision of one Deployment: the features, the risk score and level with its reasons, the actions taken, the verification steps and the outcome. Written by rollguard; kept after the Deployment is gone, for learning, until retention prunes it.',
  spec: assessmentSpecSchema,
  status: assessmentStatusSchema,
  printerColumns: [
    { name: 'Deployment', type: 'string', jsonPath: '.spec.deployment', description: 'The assessed Deployment.' },
    { name: 'Revision', type: 'integer', jsonPath: '.spec.revision', description: 'The assessed revision.' },
    { name: 'Score', type: 'number', jsonPath: '.status.score', description: 'Risk score from 0 to 1.' },
    {
      name: 'Level',
      type: 'string',
      jsonPath: '.status.level',
      description: 'safe, monitor, rollback-ready or block.',
    },
    {
      name: 'Outcome',
      type: 'string',
      jsonPath: '.status.outcome',
      description: 'running, succeeded, rolled-back, failed or superseded.',
    },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Where the rollout is.' },
    ageColumn,
  ],
};

export const resourceDefinitions: readonly ResourceDefinition[] = [
  deploymentRiskPolicyDefinition,
  rolloutAssessmentDefinition,
];

/** The structural schema of one part (spec or status) of a resource, straight from its zod schema. */
export function partSchema(schema: z.ZodType): StructuralSchema {
  return toStructuralSchema(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }));
}

/** The whole object's schema: the standard apiVersion, kind and metadata, then spec and status. */
export function resourceSchema(def: ResourceDefinition): StructuralSchema {
  return {
    description: def.description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description:
          'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.',
        type: 'string',
      },
      // Kubernetes supplies the metadata schema itself and refuses anything here but the type.
      metadata: { type: 'object' },
      spec: partSchema(def.spec),
      status: partSchema(def.status),
    },
  };
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: StructuralSchema };
    }[];
  };
}

export function customResourceDefinition(def: ResourceDefinition): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${group}`, labels: { 'app.kubernetes.io/part-of': 'rollguard' } },
    spec: {
      group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['rollguard'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: resourceSchema(def) },
        },
      ],
    },
  };
}

const generatedHeader = [
  ' Generated by `npx tsx hack/gen-crds.ts` (make crds) from the zod schemas in src/api/.',
  ' Do not edit by hand: change the schema and regenerate; CI fails when this file differs from the generated one.',
].join('\n');

/** The CRD as the YAML written to crds/, with the header that says where it comes from. */
export function renderCrdYaml(crd: CustomResourceDefinition): string {
  const doc = new Document(crd);
  doc.commentBefore = generatedHeader;
  // lineWidth 0: no folding, so long descriptions and PromQL stay on one line and diffs stay readable.
  return doc.toString({ lineWidth: 0 });
}

export interface GeneratedFile {
  /** Path relative to the repository root. */
  path: string;
  content: string;
}

/** Every file in crds/, as hack/gen-crds.ts writes it. */
export function generatedCrdFiles(): GeneratedFile[] {
  return resourceDefinitions.map((def) => ({
    path: `crds/${group}_${def.plural}.yaml`,
    content: renderCrdYaml(customResourceDefinition(def)),
  }));
}
