/**
 * The published JSON Schemas (schemas/*.schema.json), loaded and compiled once with ajv
 * (JSON Schema 2020-12, strict mode, all errors). Validation of a parsed document returns ajv's
 * errors; mapping them to findings is src/schemas/schema-findings.ts.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { MANIFEST_KINDS, type ManifestKind } from '../domain/types.js';
import { InternalError } from '../errors.js';

/** Schema file name per kind, e.g. `RetryApproval` → `retry-approval.schema.json`. */
export function schemaFileName(kind: ManifestKind): string {
  return `${kind.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.schema.json`;
}

/** The schemas/ directory of the package (works from src/ under tsx and from dist/). */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
type AddFormats = (ajv: Ajv2020, formats: string[]) => Ajv2020;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ??
  (addFormatsModule as unknown as AddFormats);

interface CompiledSchemas {
  schemas: Map<ManifestKind, Record<string, unknown>>;
  validators: Map<ManifestKind, ValidateFunction>;
}

let compiled: CompiledSchemas | undefined;

function compileAll(): CompiledSchemas {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, verbose: true });
  addFormats(ajv, ['date-time']);
  const schemas = new Map<ManifestKind, Record<string, unknown>>();
  const validators = new Map<ManifestKind, ValidateFunction>();
  for (const kind of MANIFEST_KINDS) {
    const url = new URL(schemaFileName(kind), SCHEMAS_DIR);
    let schema: Record<string, unknown>;
    try {
      schema = JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new InternalError(
        `The JSON Schema for ${kind} could not be loaded from ${url.pathname}; reinstall the package.`,
        { cause },
      );
    }
    schemas.set(kind, schema);
    validators.set(kind, ajv.compile(schema));
  }
  return { schemas, validators };
}

function getCompiled(): CompiledSchemas {
  compiled ??= compileAll();
  return compiled;
}

/** Validate a whole parsed document (apiVersion, kind, metadata, spec) against its kind's schema. */
export function validateDocument(kind: ManifestKind, value: unknown): ErrorObject[] {
  const validate = getCompiled().validators.get(kind);
  if (validate === undefined) throw new InternalError(`No schema compiled for kind ${kind}.`);
  return validate(value) ? [] : [...(validate.errors ?? [])];
}

/** The schema of one kind, as published. */
export function schemaFor(kind: ManifestKind): Record<string, unknown> {
  const schema = getCompiled().schemas.get(kind);
  if (schema === undefined) throw new InternalError(`No schema loaded for kind ${kind}.`);
  return schema;
}

/** Every schema by kind, in MANIFEST_KINDS order. */
export function allSchemas(): { kind: ManifestKind; file: string; schema: Record<string, unknown> }[] {
  return MANIFEST_KINDS.map((kind) => ({ kind, file: schemaFileName(kind), schema: schemaFor(kind) }));
}

/** True when `kind` names a manifest kind. */
export function isManifestKind(kind: unknown): kind is ManifestKind {
  return typeof kind === 'string' && (MANIFEST_KINDS as readonly string[]).includes(kind);
}
