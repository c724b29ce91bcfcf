/** `--log-level`, shared by the long-running commands (reconcile, serve, start). */
import { Option } from 'commander';

/** pino's levels, most severe first. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogLevelOption(): Option {
  return new Option('--log-level <level>', 'least severe log level written to stderr')
    .choices(LOG_LEVELS)
    .default('info');
}
