// The admission objects that hold a covered Deployment's new pod template before its first pod: a
// MutatingAdmissionPolicy and its binding (Kubernetes 1.36+, evaluated inside the API server), or a
// MutatingWebhookConfiguration pointing at the operator (older clusters). Built once here, as plain objects,
// for the operator's `--gate` installer, the chart (hack/gen-gate.ts writes its template) and the tests.
//
// The CEL below is the same decision as decision.ts, written for the API server: keep the two in step (the
// integration test gate-parity.test.ts runs the same cases through both).
import { gateAnnotations, pausedRevisionAnnotation } from './annotations.js';
import { policyResource } from '../api/resources.js';

/** Where the operator serves the webhook (webhook.ts) and where the configuration points the API server. */
export const webhookPath = '/gate';
/** The one webhook in the MutatingWebhookConfiguration; SSA keys the list by this name. */
export const webhookName = 'gate.rollguard.io';

export const defaultGateName = 'rollguard-gate';

/** Namespaces the gate never looks at: the control plane's own. */
export const systemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

const q = (s: string) => JSON.stringify(s);
const gate = q(gateAnnotations.gate);
const bypass = q(gateAnnotations.bypass);
const since = q(gateAnnotations.pendingSince);
const pausedRevision = q(pausedRevisionAnnotation);

/** CEL: the old object was paused by rollguard (its gate or its approval flow), not by a person. */
const oldPausedByRollguard =
  `request.operation == 'UPDATE' && has(oldObject.spec.paused) && oldObject.spec.paused && ` +
  `has(oldObject.metadata.annotations) && ((${gate} in oldObject.metadata.annotations && ` +
  `oldObject.metadata.annotations[${gate}] in ['pending', 'held']) || ${pausedRevision} in oldObject.metadata.annotations)`;

const labelsHas = (key: string) => `(has(object.metadata.labels) && ${key} in object.metadata.labels)`;

/** CEL: the policy (params) covers the object, with metav1.LabelSelector semantics (see src/api/selector.ts). */
const selectorMatches =
  `(!has(params.spec.selector.matchLabels) || params.spec.selector.matchLabels.all(k, ${labelsHas('k')} && ` +
  `object.metadata.labels[k] == params.spec.selector.matchLabels[k])) && ` +
  `(!has(params.spec.selector.matchExpressions) || params.spec.selector.matchExpressions.all(r, ` +
  `r.operator == 'In' ? (${labelsHas('r.key')} && has(r.values) && object.metadata.labels[r.key] in r.values) : ` +
  `r.operator == 'NotIn' ? (!${labelsHas('r.key')} || !has(r.values) || !(object.metadata.labels[r.key] in r.values)) : ` +
  `r.operator == 'Exists' ? ${labelsHas('r.key')} : !${labelsHas('r.key')}))`;

/** The match conditions, by name: every one must hold for the gate to pause the request's Deployment. */
export function gateMatchConditions(operatorUsername: string): { name: string; expression: string }[] {
  return [
    // rollguard's own writes (its resume, its undo) always pass.
    { name: 'not-rollguard', expression: `request.userInfo.username != ${q(operatorUsername)}` },
    // Only a new pod template starts pods: replicas, labels and annotations pass untouched.
    {
      name: 'template-changed',
      expression: `request.operation == 'CREATE' || object.spec.template != oldObject.spec.template`,
    },
    {
      name: 'not-bypassed',
      expression: `!has(object.metadata.annotations) || !(${bypass} in object.metadata.annotations) || object.metadata.annotations[${bypass}] == ''`,
    },
    // A Deployment a person paused stays theirs.
    {
      name: 'not-paused-by-a-person',
      expression: `!(has(object.spec.paused) && object.spec.paused) || (${oldPausedByRollguard})`,
    },
    // Which policies cover the Deployment stays the policies' selectors: each policy of the namespace is a param.
    {
      name: 'covered-by-an-enforcing-policy',
      expression:
        `params != null && !has(params.metadata.deletionTimestamp) && has(params.spec.selector) && ` +
        `(!has(params.spec.mode) || params.spec.mode == 'enforce') && ` +
        `(!has(params.spec.gate) || !has(params.spec.gate.enabled) || params.spec.gate.enabled) && ` +
        `(request.operation == 'UPDATE' || (has(params.spec.gate) && has(params.spec.gate.creation) && params.spec.gate.creation)) && ` +
        selectorMatches,
    },
  ];
}

/**
 * CEL: when the template was first held. Kubernetes' CEL has no clock, so the newest managedFields time
 * stands in for "now" (the API server stamps the requester's entry with the request's time before admission);
 * a template already pending keeps the time it was first held.
 */
export const pendingSinceExpression =
  `request.operation == 'UPDATE' && has(oldObject.metadata.annotations) && ${since} in oldObject.metadata.annotations && ` +
  `${gate} in oldObject.metadata.annotations && oldObject.metadata.annotations[${gate}] == 'pending' ? ` +
  `oldObject.metadata.annotations[${since}] : ` +
  `(has(object.metadata.managedFields) ? object.metadata.managedFields.map(f, has(f.time) ? string(f.time) : '').filter(t, t != '').sort().last().orValue('') : '')`;

export interface GateObjectOptions {
  /** Object names (the policy, its binding, or the webhook configuration). */
  name?: string;
  /** The operator's user name: its own requests pass. */
  operatorUsername: string;
  /** Fail (a CEL error refuses the change) or Ignore (it lets the change through ungated). */
  failurePolicy?: 'Fail' | 'Ignore';
  labels?: Record<string, string>;
}

export function mutatingAdmissionPolicy(o: GateObjectOptions): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicy',
    metadata: { name: o.name ?? defaultGateName, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      paramKind: { apiVersion: `${policyResource.group}/${policyResource.version}`, kind: policyResource.kind },
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            // Not deployments/scale: scaling never starts a new template.
            resources: ['deployments'],
          },
        ],
      },
      matchConditions: gateMatchConditions(o.operatorUsername),
      variables: [{ name: 'since', expression: pendingSinceExpression }],
      failurePolicy: o.failurePolicy ?? 'Fail',
      reinvocationPolicy: 'Never',
      mutations: [
        {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            // Only spec.paused and the gate's annotations: never the strategy or anything else.
            expression:
              `Object{spec: Object.spec{paused: true}, metadata: Object.metadata{annotations: ` +
              `string(variables.since) == '' ? {${gate}: 'pending'} : {${gate}: 'pending', ${since}: string(variables.since)}}}`,
          },
        },
      ],
    },
  };
}

export function mutatingAdmissionPolicyBinding(o: GateObjectOptions): object {
  const name = o.name ?? defaultGateName;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      policyName: name,
      // Every DeploymentRiskPolicy in the Deployment's namespace is a param; no policy there, no gate.
      paramRef: { selector: {}, parameterNotFoundAction: 'Allow' },
      matchResources: {
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...systemNamespaces] }],
        },
      },
    },
  };
}

export interface WebhookObjectOptions extends GateObjectOptions {
  /** Where the API server reaches the operator: a URL (an operator outside the cluster) ... */
  url?: string;
  /** ... or a Service in front of the operator's pods. */
  service?: { namespace: string; name: string; port: number };
  /**
   * PEM of the CA that signed the webhook's serving certificate; left out when someone else fills in the
   * caBundle (the chart renders the object and the operator only keeps its caBundle, or cert-manager does).
   */
  caPem?: string;
}

/**
 * The gate as a mutating webhook (Kubernetes before 1.36). The API server filters with the same CEL as the
 * policy, except coverage (a webhook has no params): the operator decides that from its policy cache.
 * failurePolicy defaults to Ignore: with the operator down, changes go through ungated (and are assessed and
 * paused once their ReplicaSet exists, as without the gate) instead of refusing every template change.
 */
export function mutatingWebhookConfiguration(o: WebhookObjectOptions): object {
  const conditions = gateMatchConditions(o.operatorUsername).filter((c) => c.name !== 'covered-by-an-enforcing-policy');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: o.name ?? defaultGateName, ...(o.labels ? { labels: o.labels } : {}) },
    webhooks: [
      {
        name: webhookName,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: 5,
        failurePolicy: o.failurePolicy ?? 'Ignore',
        reinvocationPolicy: 'Never',
        matchPolicy: 'Equivalent',
        clientConfig: {
          ...(o.url !== undefined
            ? { url: o.url }
            : { service: { ...(o.service ?? { namespace: '', name: '', port: 443 }), path: webhookPath } }),
          ...(o.caPem !== undefined ? { caBundle: Buffer.from(o.caPem).toString('base64') } : {}),
        },
        rules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...systemNamespaces] }],
        },
        matchConditions: conditions,
      },
    ],
  };
}

/**
 * Only the caBundle of a MutatingWebhookConfiguration someone else owns (the chart renders it): applied with
 * server-side apply, the operator then owns that one field and never conflicts with Helm's own apply of the rest.
 */
export function webhookCaBundle(name: string, caPem: string): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [{ name: webhookName, clientConfig: { caBundle: Buffer.from(caPem).toString('base64') } }],
  };
}
