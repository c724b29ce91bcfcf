/**
 * `cavra-gitops schema [KIND]`: print the published JSON Schema of one kind, or all of them as a
 * JSON object keyed by kind. An unknown kind is a usage error (exit 2) that lists the kinds.
 */
import type { Command } from 'commander';
import { MANIFEST_KINDS } from '../domain/types.js';
import { EXIT, ExitError } from '../errors.js';
import { listRecordSchemas } from '../records/record-schemas.js';
import { allSchemas, isManifestKind, schemaFor } from '../schemas/index.js';
import type { CliContext } from './context.js';

/** Accepts the kind as written (`RetryApproval`) or in lower/kebab case (`retry-approval`, `retryapproval`). */
function parseKind(raw: string): (typeof MANIFEST_KINDS)[number] | null {
  if (isManifestKind(raw)) return raw;
  const wanted = raw
    .toLowerCase()
    .replace(/[-_]/g, '')
    .replace(/\.schema\.json$|schemajson$/, '');
  return MANIFEST_KINDS.find((kind) => kind.toLowerCase() === wanted) ?? null;
}

/**
 * `schema --records`: every record schema (schemas/records/*.json, docs/records.md) as a JSON
 * object keyed by file name, so an auditor can save them and validate the ledger with any
 * JSON Schema 2020-12 validator.
 */
export function runRecordSchemas(context: CliContext): number {
  const all = Object.fromEntries(listRecordSchemas().map(({ file, schema }) => [file, schema]));
  context.stdout(`${JSON.stringify(all, null, 2)}\n`);
  return EXIT.ok;
}

/** Run `schema`; returns the exit code. */
export async function runSchema(
  kindArg: string | undefined,
  context: CliContext,
  options: { records?: boolean } = {},
): Promise<number> {
  if (options.records === true) {
    if (kindArg !== undefined) {
      throw new ExitError('`schema --records` prints every record schema and takes no kind; drop the kind.');
    }
    return runRecordSchemas(context);
  }
  if (kindArg === undefined) {
    const all = Object.fromEntries(allSchemas().map(({ kind, schema }) => [kind, schema]));
    context.stdout(`${JSON.stringify(all, null, 2)}\n`);
    return EXIT.ok;
  }
  const kind = parseKind(kindArg);
  if (kind === null) {
    throw new ExitError(
      `"${kindArg.slice(0, 64)}" is not a manifest kind; use one of: ${MANIFEST_KINDS.join(', ')}.`,
    );
  }
  context.stdout(`${JSON.stringify(schemaFor(kind), null, 2)}\n`);
  return EXIT.ok;
}

/** Register `schema` on the program. */
export function registerSchemaCommand(program: Command, context: CliContext): void {
  program
    .command('schema')
    .description(`print the JSON Schema of a manifest kind (${MANIFEST_KINDS.join(', ')}), or all of them`)
    .argument('[kind]', 'manifest kind, e.g. RetryApproval')
    .option('--records', 'print the JSON Schemas of the records and the report instead (schemas/records/)')
    .action(async (kind: string | undefined, options: { records?: boolean }) => {
      await runSchema(kind, context, options);
    });
}
