/**
 * The published JSON Schemas of records (schemas/records/*.json, docs/records.md), compiled once
 * with ajv (2020-12, strict). A record is validated against the schema of its kind and format
 * version: its `schema` field names the version, a record without one was written before format
 * v2 and is v1. The files are what an auditor loads with a stock validator; this module reads
 * the very same files, so the reconciler and the auditor cannot disagree.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  RECORD_SUBJECTS,
  RECORD_VERSIONS,
  SCHEMA_NAMES,
  type RecordSubject,
  type RecordVersion,
} from '../domain/record-format.js';
import { InternalError } from '../errors.js';

/** schemas/records/ of the package (works from src/ under tsx and from dist/). */
export const RECORD_SCHEMAS_DIR = new URL('../../schemas/records/', import.meta.url);

/** `<name>.v<version>.schema.json`, e.g. `retry-execution-record.v2.schema.json`. */
export function recordSchemaFileName(subject: RecordSubject, version: RecordVersion): string {
  return `${SCHEMA_NAMES[subject]}.v${version}.schema.json`;
}

interface Compiled {
  files: Map<string, Record<string, unknown>>;
  validators: Map<string, ValidateFunction>;
}

let compiled: Compiled | undefined;

function compile(): Compiled {
  const ajv = new Ajv2020({ strict: true, allErrors: false });
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
    const schema = JSON.parse(readFileSync(new URL(name, RECORD_SCHEMAS_DIR), 'utf8')) as Record<
      string,
      unknown
    >;
    files.set(name, schema);
    ajv.addSchema(schema);
  }
  const validators = new Map<string, ValidateFunction>();
  for (const subject of RECORD_SUBJECTS) {
    for (const version of RECORD_VERSIONS) {
      const file = recordSchemaFileName(subject, version);
      const schema = files.get(file);
      if (schema === undefined) {
        throw new InternalError(
          `The record schema ${file} is missing from schemas/records/; reinstall the package.`,
        );
      }
      validators.set(file, ajv.getSchema(String(schema.$id)) as ValidateFunction);
    }
  }
  return { files, validators };
}

function getCompiled(): Compiled {
  compiled ??= compile();
  return compiled;
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
  const { validators, files } = getCompiled();
  const validate = validators.get(file) as ValidateFunction;
  if (validate(record)) return null;
  const error = (validate.errors ?? [])[0] as ErrorObject;
  const id = files.get(file)?.$id;
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
  return [...getCompiled().files].map(([file, schema]) => ({ file, schema }));
}
