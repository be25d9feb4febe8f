// Change descriptions used across tests, the benchmark and the demo: one well-described small change, and one
// sprawling, barely tested hotfix by a newcomer that scores `block` under the default thresholds.
export const safeChange: Readonly<Record<string, string>> = {
  'rollguard.io/change-type': 'feature',
  'rollguard.io/files-changed': '2',
  'rollguard.io/lines-added': '30',
  'rollguard.io/lines-deleted': '4',
  'rollguard.io/test-coverage': '88',
  'rollguard.io/author-experience': '250',
};

export const riskyChange: Readonly<Record<string, string>> = {
  'rollguard.io/change-type': 'hotfix',
  'rollguard.io/files-changed': '140',
  'rollguard.io/directories-changed': '35',
  'rollguard.io/subsystems-changed': '9',
  'rollguard.io/lines-added': '18000',
  'rollguard.io/lines-deleted': '6000',
  'rollguard.io/change-entropy': '6.5',
  'rollguard.io/test-coverage': '4',
  'rollguard.io/author-experience': '1',
  'rollguard.io/dependencies-changed': '6',
};
