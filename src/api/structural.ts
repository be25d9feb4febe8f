// From the JSON Schema zod writes to the structural OpenAPI schema a CustomResourceDefinition needs, and a
// checker for the rules Kubernetes sets on those schemas, so a generated CRD that the API server would refuse
// fails a unit test instead of `kubectl apply`.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A CEL validation rule (x-kubernetes-validations) as the API server evaluates it. */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  optionalOldSelf?: boolean;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps rollguard's schemas use. */
export interface StructuralSchema {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: JsonValue[];
  default?: JsonValue;
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  exclusiveMinimum?: boolean;
  maximum?: number;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  items?: StructuralSchema;
  additionalProperties?: StructuralSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: CelRule[];
}

// Keys in the order they are written, so the YAML reads top-down: what a field is, its constraints, its children.
const keyOrder: readonly (keyof StructuralSchema)[] = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'nullable',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'required',
  'properties',
  'items',
  'additionalProperties',
  'x-kubernetes-validations',
];
const knownKeys: ReadonlySet<string> = new Set(keyOrder);
const schemaTypes: readonly string[] = ['object', 'array', 'string', 'integer', 'number', 'boolean'];
const combinators = ['anyOf', 'oneOf', 'allOf', 'not'];

// JSON Schema keywords zod writes that Kubernetes has no field for and that carry nothing the API server needs.
const droppedKeys: ReadonlySet<string> = new Set(['$schema', '$id', 'id', 'title', 'examples', 'propertyNames']);

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function resolveRef(ref: string, definitions: JsonObject, path: string): unknown {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  const target = match?.[1] === undefined ? undefined : definitions[match[1]];
  if (target === undefined) throw new Error(`${path}: cannot resolve $ref ${ref}`);
  return target;
}

/**
 * Rewrites a zod JSON Schema (target openapi-3.0, io input) into a structural schema: $refs inlined, `const`
 * as a one-value enum, `additionalProperties: false` and keywords Kubernetes does not know dropped, and the
 * ±2^53 bounds zod puts on every integer removed. Throws, naming the path, on what cannot be made structural
 * (unions, tuples, open `additionalProperties: true`); the fix for those is a flat object plus a CEL rule.
 */
export function toStructuralSchema(jsonSchema: unknown): StructuralSchema {
  if (!isObject(jsonSchema)) throw new Error('the schema must be an object');
  const definitions = {
    ...(isObject(jsonSchema.$defs) ? jsonSchema.$defs : {}),
    ...(isObject(jsonSchema.definitions) ? jsonSchema.definitions : {}),
  };
  return convert(jsonSchema, definitions, '', []);
}

function convert(
  input: JsonObject,
  definitions: JsonObject,
  path: string,
  refStack: readonly string[],
): StructuralSchema {
  let node = input;
  const stack = [...refStack];
  while (typeof node.$ref === 'string') {
    const ref = node.$ref;
    if (stack.includes(ref)) throw new Error(`${path || '.'}: recursive $ref ${ref} cannot be inlined`);
    stack.push(ref);
    const target = resolveRef(ref, definitions, path || '.');
    if (!isObject(target)) throw new Error(`${path || '.'}: $ref ${ref} is not a schema`);
    const { $ref: _ref, ...siblings } = node;
    node = { ...target, ...siblings };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    const here = at(path, key);
    if (droppedKeys.has(key) || key === '$defs' || key === 'definitions') continue;
    if (combinators.includes(key)) {
      throw new Error(`${here}: unions are not structural; use one object with optional fields and a CEL rule`);
    }
    switch (key) {
      case 'const':
        out.enum = [value];
        break;
      case 'properties': {
        if (!isObject(value)) throw new Error(`${here}: must be an object`);
        const properties: Record<string, StructuralSchema> = {};
        for (const [name, child] of Object.entries(value)) {
          if (!isObject(child)) throw new Error(`${at(here, name)}: must be a schema`);
          properties[name] = convert(child, definitions, at(path, name), stack);
        }
        out.properties = properties;
        break;
      }
      case 'items':
        if (!isObject(value)) throw new Error(`${here}: tuples are not structural; use one item schema`);
        out.items = convert(value, definitions, `${path}[*]`, stack);
        break;
      case 'additionalProperties':
        if (value === false) break; // Kubernetes prunes unknown fields anyway and refuses `false`.
        if (value === true || (isObject(value) && Object.keys(value).length === 0)) {
          out['x-kubernetes-preserve-unknown-fields'] = true;
          break;
        }
        if (!isObject(value)) throw new Error(`${here}: must be a schema`);
        out.additionalProperties = convert(value, definitions, `${path}[*]`, stack);
        break;
      case 'minimum':
      case 'maximum':
        if (typeof value === 'number' && Math.abs(value) === Number.MAX_SAFE_INTEGER) break;
        out[key] = value;
        break;
      default:
        if (!knownKeys.has(key)) throw new Error(`${here}: Kubernetes schemas have no keyword ${key}`);
        out[key] = value;
    }
  }
  // zod pairs format date-time with an equivalent pattern; the format alone is what Kubernetes documents.
  if (out.format === 'date-time') delete out.pattern;
  // The API server estimates the cost of CEL rules from maxLength; an enum cannot be longer than its longest value.
  if (out.type === 'string' && Array.isArray(out.enum) && out.maxLength === undefined) {
    out.maxLength = Math.max(...out.enum.map((value) => String(value).length));
  }
  return ordered(out);
}

function ordered(node: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of keyOrder) if (node[key] !== undefined) out[key] = node[key];
  return out;
}

/**
 * Everything that keeps `schema` from being a structural schema Kubernetes accepts (plus rollguard's own
 * rule that only metadata may be an object without fields), one message per problem, each naming the path.
 * Empty means the API server will take it.
 */
export function structuralViolations(schema: unknown): string[] {
  const problems: string[] = [];
  check(schema, '', problems);
  return problems;
}

function check(node: unknown, path: string, problems: string[]): void {
  const where = path || '.';
  if (!isObject(node)) {
    problems.push(`${where}: must be a schema object, not ${JSON.stringify(node)}`);
    return;
  }
  for (const key of Object.keys(node)) {
    if (key === '$ref') problems.push(`${where}: $ref is not allowed; inline the schema`);
    else if (combinators.includes(key)) problems.push(`${where}: ${key} is not allowed in rollguard's schemas`);
    else if (!knownKeys.has(key)) problems.push(`${where}: unknown keyword ${key}`);
  }
  const free = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
  const type = node.type;
  if (type === undefined) {
    if (!free) problems.push(`${where}: every field needs a type`);
  } else if (typeof type !== 'string' || !schemaTypes.includes(type)) {
    problems.push(`${where}: type must be one of ${schemaTypes.join(', ')}, not ${JSON.stringify(type)}`);
  }
  const { properties, additionalProperties, items } = node;
  if (properties !== undefined && additionalProperties !== undefined) {
    problems.push(`${where}: properties and additionalProperties cannot be used together`);
  }
  if (typeof additionalProperties === 'boolean') {
    problems.push(`${where}: additionalProperties must be a schema, not ${additionalProperties}`);
  }
  if (path === '.metadata') {
    // The API server brings its own ObjectMeta schema and refuses anything in the root's metadata but this.
    if (type !== 'object' || Object.keys(node).some((key) => key !== 'type')) {
      problems.push(`${where}: the root's metadata may only say type: object`);
    }
    return;
  }
  if (type === 'object' && properties === undefined && additionalProperties === undefined && !free) {
    problems.push(`${where}: an object needs properties, additionalProperties or x-kubernetes-preserve-unknown-fields`);
  }
  if (type !== 'object' && (properties !== undefined || additionalProperties !== undefined)) {
    problems.push(`${where}: only objects have properties`);
  }
  if (type === 'array' && !isObject(items)) problems.push(`${where}: an array needs one items schema`);
  if (type !== 'array' && items !== undefined) problems.push(`${where}: only arrays have items`);
  if (isObject(properties)) {
    for (const [name, child] of Object.entries(properties)) check(child, at(path, name), problems);
  } else if (properties !== undefined) {
    problems.push(`${where}: properties must be an object`);
  }
  if (isObject(additionalProperties)) check(additionalProperties, `${path}[*]`, problems);
  if (isObject(items)) check(items, `${path}[*]`, problems);
  checkRequired(node, where, problems);
  checkListMap(node, where, problems);
  checkRules(node, where, problems);
  if (node.default !== undefined) checkDefaultAgainstRules(node, node.default, `${where} default`, problems);
}

// Fields a node's CEL rules read as `self.<name>`, leaving out mere `has(self.<name>)` tests.
function fieldsReadByRules(node: JsonObject): Set<string> {
  const rules = Array.isArray(node['x-kubernetes-validations']) ? node['x-kubernetes-validations'] : [];
  const read = new Set<string>();
  for (const rule of rules) {
    if (!isObject(rule)) continue;
    for (const expression of [rule.rule, rule.messageExpression]) {
      if (typeof expression !== 'string') continue;
      const withoutHas = expression.replace(/has\(self\.[A-Za-z_][A-Za-z0-9_]*\)/g, '');
      for (const [, name = ''] of withoutHas.matchAll(/self\.([A-Za-z_][A-Za-z0-9_]*)/g)) read.add(name);
    }
  }
  return read;
}

// The API server runs a default through the CEL rules as written, before the defaults of the fields inside it
// are filled in; a rule reading such a field would fail on it ("no such key"). So a default must spell out
// every field that a rule on the same node reads and that has a default of its own.
function checkDefaultAgainstRules(node: JsonObject, value: unknown, where: string, problems: string[]): void {
  if (!isObject(value) || !isObject(node.properties)) return;
  for (const name of fieldsReadByRules(node)) {
    const prop = node.properties[name];
    if (isObject(prop) && prop.default !== undefined && !Object.hasOwn(value, name)) {
      problems.push(
        `${where}: must set ${name}, because CEL rules see the default before ${name}'s own default applies`,
      );
    }
  }
  for (const [name, child] of Object.entries(value)) {
    const prop = node.properties[name];
    if (isObject(prop)) checkDefaultAgainstRules(prop, child, `${where}.${name}`, problems);
  }
}

function checkRequired(node: JsonObject, where: string, problems: string[]): void {
  if (node.required === undefined) return;
  const props = isObject(node.properties) ? node.properties : {};
  if (!Array.isArray(node.required)) {
    problems.push(`${where}: required must be a list`);
    return;
  }
  for (const name of node.required) {
    if (typeof name !== 'string' || !Object.hasOwn(props, name)) {
      problems.push(`${where}: required field ${JSON.stringify(name)} is not among the properties`);
    }
  }
}

// A list-type map is merged by its keys, so every item must have them: required, or defaulted.
function checkListMap(node: JsonObject, where: string, problems: string[]): void {
  if (node['x-kubernetes-list-type'] !== 'map') return;
  const keys = node['x-kubernetes-list-map-keys'];
  const items = isObject(node.items) ? node.items : {};
  const required = Array.isArray(items.required) ? items.required : [];
  const props = isObject(items.properties) ? items.properties : {};
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push(`${where}: x-kubernetes-list-type map needs x-kubernetes-list-map-keys`);
    return;
  }
  for (const key of keys) {
    const prop = typeof key === 'string' ? props[key] : undefined;
    const defaulted = isObject(prop) && prop.default !== undefined;
    if (!required.includes(key) && !defaulted)
      problems.push(`${where}: list map key ${String(key)} must be required or defaulted`);
  }
}

function checkRules(node: JsonObject, where: string, problems: string[]): void {
  const rules = node['x-kubernetes-validations'];
  if (rules === undefined) return;
  if (!Array.isArray(rules)) {
    problems.push(`${where}: x-kubernetes-validations must be a list`);
    return;
  }
  for (const rule of rules) {
    if (!isObject(rule) || typeof rule.rule !== 'string' || rule.rule === '') {
      problems.push(`${where}: every x-kubernetes-validations entry needs a rule`);
    } else if (typeof rule.message !== 'string' && typeof rule.messageExpression !== 'string') {
      problems.push(`${where}: the rule ${rule.rule} needs a message saying what is wrong`);
    }
  }
}

/** Paths of fields without a description: each becomes `kubectl explain` text, so each needs one. */
export function undescribedFields(schema: StructuralSchema, path = ''): string[] {
  const missing: string[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const here = at(path, name);
    if (here === '.metadata') continue; // Kubernetes describes metadata itself (and allows nothing else there).
    if (!child.description) missing.push(here);
    missing.push(...undescribedFields(child, here));
  }
  if (schema.items) missing.push(...undescribedFields(schema.items, `${path}[*]`));
  if (schema.additionalProperties) missing.push(...undescribedFields(schema.additionalProperties, `${path}[*]`));
  return missing;
}
