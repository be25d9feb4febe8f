// How the public ApacheJIT data (data/jit/apachejit-small.csv) maps onto the feature contract: the one place
// both `make model` (bench/train-default-model.ts) and the drift reference (src/learning/reference.ts) read.
import path from 'node:path';
import type { FeatureName } from './contract.js';

/** The name `make model` gives the shipped model; its versions are `${name}-${hash}`. */
export const SHIPPED_MODEL_NAME = 'jit-apachejit-v1';

/** The data file the shipped model was trained on, relative to the package root. */
export const SHIPPED_DATA_FILE = path.join('data', 'jit', 'apachejit-small.csv');

/**
 * ApacheJIT column → contract feature. Unmapped: ndev (developers who ever touched the files, not the authors
 * of the change, so not a fair proxy for `authors`), age, nuc, arexp, asexp (no contract feature), year and
 * author_date (time), buggy (the label), commit_id and project (ids).
 */
export const APACHEJIT_TO_CONTRACT: Readonly<Record<string, FeatureName>> = {
  nf: 'files_changed',
  nd: 'directories_changed',
  ns: 'subsystems_changed',
  la: 'lines_added',
  ld: 'lines_deleted',
  ent: 'change_entropy',
  fix: 'is_fix',
  aexp: 'author_experience',
};
