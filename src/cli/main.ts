#!/usr/bin/env node
/**
 * The cavra-gitops CLI: builds the commander program, runs one command, and is the single place
 * that turns errors into one clear sentence and an exit code (docs/reference.md §5): 0 success, 1 findings,
 * 2 usage or configuration, 3 infrastructure. Stacks only with --debug.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT, isCavraError, messageOf } from '../errors.js';
import { expandSecret, redactText } from '../redact.js';
import { createProcessContext, type CliContext } from './context.js';
import { boundHeapGrowth } from './heap-growth.js';
import { applyEnvOptions, parseEnvBoolean, registerEnvNames } from './env-options.js';
import { registerInitCommand } from './init.js';
import { readPackageVersion } from './package-info.js';
import { registerPlanCommand } from './plan.js';
import { registerPrCommentCommand } from './pr-comment.js';
import { registerReconcileCommand, secretEnvValues } from './reconcile.js';
import { registerReportCommand } from './report.js';
import { registerSchemaCommand } from './schema.js';
import { registerServeCommand } from './serve.js';
import { registerStartCommand } from './start.js';
import { registerValidateCommand } from './validate.js';
import { registerVerifyCommand } from './verify.js';

export function createProgram(context: CliContext): Command {
  const program = new Command('cavra-gitops')
    .description(
      'GitOps reconciler for CAVRA audit deliveries: validated manifests in, exactly-once retries and hashed records out.',
    )
    .version(readPackageVersion(), '-V, --version', 'print the version of cavra-gitops')
    .option('--debug', 'print stack traces of errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: context.stdout, writeErr: context.stderr })
    .addHelpText(
      'after',
      '\nEvery option can also be set through the environment variable shown beside it\n' +
        '(CAVRA_GITOPS_<OPTION>; booleans take true or false); a flag on the command line wins.\n' +
        'CAVRA_GITOPS_NOW (ISO-8601 UTC) replaces the wall clock in every command.\n',
    )
    .hook('preAction', (root, action) => {
      applyEnvOptions(root, context.env);
      if (action !== root) applyEnvOptions(action, context.env);
    });
  registerInitCommand(program, context);
  registerValidateCommand(program, context);
  registerPlanCommand(program, context);
  registerReconcileCommand(program, context);
  registerServeCommand(program, context);
  registerStartCommand(program, context);
  registerReportCommand(program, context);
  registerVerifyCommand(program, context);
  registerSchemaCommand(program, context);
  registerPrCommentCommand(program, context);
  registerEnvNames(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Run the CLI with `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: string[], context: CliContext): Promise<number> {
  const debug = argv.includes('--debug') || isDebugEnv(context);
  process.exitCode = undefined;
  try {
    await createProgram(context).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const message = messageOf(error);
    // Env values that are secret by their name, piece by piece: an error may quote one of them.
    const secrets = secretEnvValues(context.env).flatMap(expandSecret);
    context.stderr(`cavra-gitops: ${redactText(message, secrets)}\n`);
    if (debug && error instanceof Error && error.stack)
      context.stderr(`${redactText(error.stack, secrets)}\n`);
    return isCavraError(error) ? error.exitCode : EXIT.infrastructure;
  }
}

/** `CAVRA_GITOPS_DEBUG` as --debug; a malformed value is ignored here (the command reports it). */
function isDebugEnv(context: CliContext): boolean {
  const raw = context.env.CAVRA_GITOPS_DEBUG;
  if (raw === undefined || raw === '') return false;
  try {
    return parseEnvBoolean('CAVRA_GITOPS_DEBUG', raw);
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  boundHeapGrowth(process.argv.slice(2));
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // First signal: finish the in-flight step and exit. Second: stop now.
    if (signals === 1) controller.abort();
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let context: CliContext;
  try {
    context = createProcessContext(controller.signal);
  } catch (error) {
    process.stderr.write(`cavra-gitops: ${messageOf(error)}\n`);
    process.exit(EXIT.usage);
  }
  const code = await runCli(process.argv.slice(2), context);
  process.exit(code);
}

/** True when this file is the program (also through npm's `bin` symlink), not an import in a test. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
