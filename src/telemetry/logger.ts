// Structured logs. Every line about one rollout carries policy, namespace, deployment and revision, so a
// person can follow one release with a single filter.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface RolloutContext {
  policy?: string | undefined;
  namespace: string;
  deployment: string;
  revision?: number | undefined;
}

export function createLogger(level: string = process.env.ROLLGUARD_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { component: 'rollguard' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

export function rolloutLogger(logger: Logger, context: RolloutContext): Logger {
  const fields: Record<string, string | number> = { namespace: context.namespace, deployment: context.deployment };
  if (context.policy !== undefined) fields.policy = context.policy;
  if (context.revision !== undefined) fields.revision = context.revision;
  return logger.child(fields);
}
