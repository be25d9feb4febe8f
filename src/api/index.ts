// The public face of src/api: the resource schemas, their types and the pure helpers other folders use.
export * from './assessment.js';
export * from './duration.js';
export * from './issues.js';
export * from './meta.js';
export * from './policy.js';
export * from './selector.js';
export { resourceDefinitions } from './crd.js';
export * from './resources.js';
