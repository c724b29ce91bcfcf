/**
 * Every option of every command can also come from an environment variable,
 * `CAVRA_GITOPS_<LONG_FLAG>` (`--state-dir` → `CAVRA_GITOPS_STATE_DIR`, `--no-push` →
 * `CAVRA_GITOPS_NO_PUSH`), so containers and systemd units are configured by env alone.
 *
 * The names are registered with commander's `Option#env` after the options exist, which shows them
 * in `--help` but leaves commander's own env step idle (it only listens for options that had an env
 * var when added). The values are applied here instead, before each action, because commander reads
 * `process.env` directly (commands get their env injected) and sets a boolean flag whenever its
 * variable exists, so `CAVRA_GITOPS_ONCE=false` would mean `--once`. Here booleans are parsed
 * strictly, an empty value counts as unset, and a flag on the command line always wins.
 */
import type { Command, Option } from 'commander';
import type { Env } from '../domain/ports.js';
import { ExitError } from '../errors.js';

const ENV_PREFIX = 'CAVRA_GITOPS_';

/**
 * Options that exclude each other: when one is on the command line, the env var of the other is
 * ignored (a container that sets CAVRA_GITOPS_REMOTE must still allow `validate --repo .`).
 */
const EXCLUSIVE_OPTIONS: readonly (readonly [string, string])[] = [
  ['repo', 'remote'],
  ['ref', 'worktree'],
  ['ref', 'watch'],
];

const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on']);
const FALSE_VALUES = new Set(['0', 'false', 'no', 'off']);

/** `CAVRA_GITOPS_` + the long flag without dashes, upper snake case. */
export function envNameOf(option: Option): string | null {
  // --version only prints; an env var that made every command print the version would be a trap.
  if (option.long === undefined || option.long === '--version') return null;
  return `${ENV_PREFIX}${option.long.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** Register the env var of every option of `command` and its subcommands (shown in --help). */
export function registerEnvNames(command: Command): void {
  for (const option of command.options) {
    const name = envNameOf(option);
    if (name !== null && option.envVar === undefined) option.env(name);
  }
  for (const sub of command.commands) registerEnvNames(sub);
}

/** Parse a boolean env value; throws a usage error naming the variable for anything else. */
export function parseEnvBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  throw new ExitError(`${name}=${JSON.stringify(raw.slice(0, 40))} is not a boolean; use true or false.`);
}

function isOnCommandLine(command: Command, attribute: string): boolean {
  return command.getOptionValueSource(attribute) === 'cli';
}

/**
 * Fill the options of `command` that were not given on the command line from `env`. Call it from a
 * `preAction` hook (after parsing, before the action reads its options).
 */
export function applyEnvOptions(command: Command, env: Env): void {
  for (const option of command.options) {
    const name = option.envVar;
    const attribute = option.attributeName();
    if (name === undefined || isOnCommandLine(command, attribute)) continue;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const excluded = EXCLUSIVE_OPTIONS.some(
      ([a, b]) =>
        (attribute === a && isOnCommandLine(command, b)) || (attribute === b && isOnCommandLine(command, a)),
    );
    if (excluded) continue;
    if (option.isBoolean() || option.negate) {
      const set = parseEnvBoolean(name, raw);
      // A negated flag (`--no-push`) set to true means the attribute (`push`) is false.
      if (option.negate) {
        if (set) command.setOptionValueWithSource(attribute, false, 'env');
      } else if (set) command.setOptionValueWithSource(attribute, true, 'env');
      else command.setOptionValueWithSource(attribute, undefined, 'env');
      continue;
    }
    const choices = option.argChoices;
    if (choices !== undefined && !choices.includes(raw)) {
      throw new ExitError(`${name}=${JSON.stringify(raw.slice(0, 40))} is not one of ${choices.join(', ')}.`);
    }
    command.setOptionValueWithSource(attribute, raw, 'env');
  }
}
