// The standard Kubernetes label selector (metav1.LabelSelector): its schema and how it matches labels.
import { z } from 'zod';

export const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof selectorOperators)[number];

/** More requirements than this in one selector are refused; real selectors have a handful. */
export const maxSelectorRequirements = 64;

const operatorsWithValues: readonly SelectorOperator[] = ['In', 'NotIn'];
const valuesRuleMessage =
  'values must list at least one value for operators In and NotIn, and be empty for Exists and DoesNotExist';

export const labelSelectorRequirementSchema = z
  .object({
    key: z.string().min(1).describe('The label key the requirement is about.'),
    operator: z
      .enum(selectorOperators)
      .describe(
        'How the label relates to values: In (label set to one of values), NotIn (label unset or not one of values), Exists (label set), DoesNotExist (label unset).',
      ),
    values: z
      .array(z.string())
      .optional()
      .describe('Label values for In and NotIn (at least one); leave out for Exists and DoesNotExist.'),
  })
  .refine(
    (req) =>
      operatorsWithValues.includes(req.operator) ? (req.values?.length ?? 0) > 0 : (req.values?.length ?? 0) === 0,
    { error: valuesRuleMessage, path: ['values'] },
  )
  .meta({
    // The same check as the refine above, for the API server (the schema alone cannot tie values to operator).
    'x-kubernetes-validations': [
      {
        rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
        message: valuesRuleMessage,
        fieldPath: '.values',
      },
    ],
  })
  .describe('One requirement on a label.');

export const labelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Labels that must all be present with exactly these values.'),
    matchExpressions: z
      .array(labelSelectorRequirementSchema)
      // A bound keeps the API server's cost estimate for the CEL rule on each requirement small.
      .max(maxSelectorRequirements)
      .optional()
      .describe('Requirements that must all hold, in addition to matchLabels.'),
  })
  .describe('A standard Kubernetes label selector; the empty selector {} matches everything.');

export type LabelSelector = z.output<typeof labelSelectorSchema>;
export type LabelSelectorRequirement = z.output<typeof labelSelectorRequirementSchema>;

function requirementHolds(req: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(labels[req.key] ?? '');
    case 'NotIn':
      return !has || !values.includes(labels[req.key] ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/**
 * Whether labels satisfy the selector, with metav1.LabelSelector semantics: every matchLabels entry and every
 * matchExpressions requirement must hold, so the empty selector matches every set of labels. An In
 * requirement without values matches nothing and a NotIn one without values matches everything (the schema
 * refuses both; this only says what happens if one slips through).
 */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>> = {}): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => requirementHolds(req, labels));
}
