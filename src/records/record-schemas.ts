/**
 * The published JSON Schemas of records (schemas/*.json under records/, docs/records.md) and their
 * validators (2020-12, strict), compiled ahead of time into ./compiled-validators.ts by
 * scripts/compile-validators.ts from these very files, so the reconciler and an auditor who loads
 * them with a stock validator cannot disagree (a test regenerates the module and compares). A
 * record is validated against the schema of its kind and format version: its `schema` field names
 * the version, a record without one was written before format v2 and is v1.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { SCHEMA_NAMES, type RecordSubject, type RecordVersion } from '../domain/record-format.js';
import { InternalError } from '../errors.js';
import { validatorsByFile } from './compiled-validators.js';

/** schemas/records/ of the package (works from src/ under tsx and from dist/). */
const RECORD_SCHEMAS_DIR = new URL('../../schemas/records/', import.meta.url);

/** `<name>.v<version>.schema.json`, e.g. `retry-execution-record.v2.schema.json`. */
function recordSchemaFileName(subject: RecordSubject, version: RecordVersion): string {
  return `${SCHEMA_NAMES[subject]}.v${version}.schema.json`;
}

let loaded: Map<string, Record<string, unknown>> | undefined;

/** The schema files as published, read when first asked for (a violation's `$id`, `schema --records`). */
function loadFiles(): Map<string, Record<string, unknown>> {
  const files = new Map<string, Record<string, unknown>>();
  let names: string[];
  try {
    names = readdirSync(RECORD_SCHEMAS_DIR).filter((name) => name.endsWith('.schema.json'));
  } catch (cause) {
    throw new InternalError(
      `The record schemas could not be listed in ${RECORD_SCHEMAS_DIR.pathname}; reinstall the package.`,
      { cause },
    );
  }
  for (const name of names.sort()) {
    files.set(
      name,
      JSON.parse(readFileSync(new URL(name, RECORD_SCHEMAS_DIR), 'utf8')) as Record<string, unknown>,
    );
  }
  return files;
}

/** The first violation of a record's schema, or null when it validates. */
export interface RecordSchemaViolation {
  /** JSON Pointer of the field ('' for the record itself). */
  field: string;
  /** The schema keyword that failed (`required`, `type`, `const`, `additionalProperties`, …). */
  keyword: string;
  /** The `$id` of the schema. */
  schemaId: string;
  message: string;
}

/** Validate `record` against the schema of `subject` at `version`. */
export function validateRecordSchema(
  subject: RecordSubject,
  version: RecordVersion,
  record: unknown,
): RecordSchemaViolation | null {
  const file = recordSchemaFileName(subject, version);
  const validate = validatorsByFile[file];
  if (validate === undefined) {
    throw new InternalError(
      `The record schema ${file} is missing from schemas/records/; reinstall the package.`,
    );
  }
  if (validate(record)) return null;
  const error = (validate.errors ?? [])[0] as ErrorObject;
  loaded ??= loadFiles();
  const id = loaded.get(file)?.$id;
  return describeError(error, typeof id === 'string' ? id : file);
}

function describeError(error: ErrorObject, schemaId: string): RecordSchemaViolation {
  const params = error.params as Record<string, unknown>;
  let field = error.instancePath;
  if (error.keyword === 'required') field = `${field}/${String(params.missingProperty)}`;
  if (error.keyword === 'additionalProperties') field = `${field}/${String(params.additionalProperty)}`;
  const what =
    error.keyword === 'required'
      ? 'is missing'
      : error.keyword === 'additionalProperties'
        ? 'is not a field of this format (a new field needs a new schema version)'
        : error.keyword === 'const'
          ? `must be ${JSON.stringify(params.allowedValue)}`
          : `${error.message ?? 'is invalid'}`;
  return {
    field: field === '' ? '/' : field,
    keyword: error.keyword,
    schemaId,
    message: `field ${field === '' ? '/' : field} ${what}`,
  };
}

/** Every published record schema, by file name (for `cavra-gitops schema --records`). */
export function listRecordSchemas(): { file: string; schema: Record<string, unknown> }[] {
  loaded ??= loadFiles();
  return [...loaded].map(([file, schema]) => ({ file, schema }));
}
