// Waiting in tests for what a user would wait for, with a message that says what never happened.
export { waitFor } from '../harness/wait.js';
