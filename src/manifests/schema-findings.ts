/**
 * ajv errors → findings. Messages are written from the error's keyword, params and the schema's
 * own `description` (how to fix), never from the offending value, so nothing a manifest contains
 * (secrets included) is echoed.
 */
import type { ErrorObject } from 'ajv';
import type { Finding } from '../domain/types.js';
import type { RuleId } from './rules.js';
import { makeFinding } from './rules.js';
import { isSafeToEcho, safePointer } from './secrets.js';

export interface SchemaFindingContext {
  file: string;
  kind: string;
  name: string;
  /** Line/column of the node at `segments` (of its key with `key: true`). */
  locate: (segments: readonly (string | number)[], options?: { key?: boolean }) => { line: number; column: number };
}

const RULE_BY_KEYWORD: Record<string, RuleId> = {
  required: 'schema.required',
  additionalProperties: 'schema.additional-properties',
  type: 'schema.type',
  enum: 'schema.enum',
  const: 'schema.const',
  pattern: 'schema.pattern',
  format: 'schema.format',
  minLength: 'schema.min-length',
  maxLength: 'schema.max-length',
  minimum: 'schema.minimum',
  maximum: 'schema.maximum',
  minItems: 'schema.min-items',
  maxItems: 'schema.max-items',
  uniqueItems: 'schema.unique-items',
  maxProperties: 'schema.max-properties',
  propertyNames: 'schema.property-names',
  anyOf: 'schema.any-of',
};

/** Split a JSON Pointer (`/spec/providers/0`) into segments. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Drop the noise ajv reports under an `anyOf` (one error per failed branch): the `anyOf` error
 * itself says it all. Also drops the `if` wrapper errors, should a schema use them.
 */
function pruneErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  // A `pattern` error next to a `format` or `minLength` error on the same value says the same thing twice.
  const coveredPaths = new Set(
    errors.filter((e) => e.keyword === 'format' || e.keyword === 'minLength').map((e) => e.instancePath),
  );
  return errors.filter(
    (e) =>
      e.keyword !== 'if' &&
      !(e.keyword === 'pattern' && coveredPaths.has(e.instancePath)) &&
      !e.schemaPath.includes('/propertyNames/') &&
      !anyOfPaths.some((prefix) => e.schemaPath.startsWith(prefix)),
  );
}

function describe(error: ErrorObject): string {
  const description = (error.parentSchema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? ` Expected: ${description}` : '';
}

function messageFor(error: ErrorObject, where: string): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const field = String(p.missingProperty);
      return `${where} is missing the required field "${field}"; add it.`;
    }
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const allowed = Object.keys(
        ((error.parentSchema as { properties?: object } | undefined)?.properties ?? {}),
      );
      const named = isSafeToEcho(field) ? `"${field}"` : 'a field';
      return `${where} has ${named}, which is not part of the schema; remove it or fix its spelling (allowed: ${allowed.join(', ')}).`;
    }
    case 'type':
      return `${where} must be of type ${Array.isArray(p.type) ? p.type.join(' or ') : String(p.type)}.${describe(error)}`;
    case 'enum':
      return `${where} must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}.`;
    case 'const':
      return `${where} must be "${String(p.allowedValue)}".`;
    case 'pattern':
    case 'format':
      return `${where} does not have the required format.${describe(error)}`;
    case 'minLength':
      return Number(p.limit) <= 1
        ? `${where} must not be empty.${describe(error)}`
        : `${where} must be at least ${String(p.limit)} characters long.`;
    case 'maxLength':
      return `${where} must be at most ${String(p.limit)} characters long; shorten it.`;
    case 'minimum':
      return `${where} must be at least ${String(p.limit)}.`;
    case 'maximum':
      return `${where} must be at most ${String(p.limit)}.`;
    case 'minItems':
      return `${where} must have at least ${String(p.limit)} item(s).`;
    case 'maxItems':
      return `${where} must have at most ${String(p.limit)} items; split the manifest.`;
    case 'uniqueItems':
      return `${where} lists the same item twice (items ${String(p.j)} and ${String(p.i)}); remove the duplicate.`;
    case 'maxProperties':
      return `${where} must have at most ${String(p.limit)} entries.`;
    case 'propertyNames':
      return `${where} has a key with an invalid format; use letters, digits, '_', '-' or '.'.`;
    case 'anyOf':
      return `${where} does not have an allowed shape.${describe(error)}`;
    default:
      return `${where} violates the schema (${error.keyword}).`;
  }
}

/** Findings for a document's ajv errors, located in the source. */
export function schemaErrorsToFindings(errors: readonly ErrorObject[], context: SchemaFindingContext): Finding[] {
  const findings: Finding[] = [];
  for (const error of pruneErrors(errors)) {
    const segments: string[] = pointerSegments(error.instancePath);
    let atKey = false;
    if (error.keyword === 'additionalProperties') {
      segments.push(String((error.params as { additionalProperty: string }).additionalProperty));
      atKey = true;
    } else if (error.keyword === 'propertyNames') {
      const name = (error.params as { propertyName?: string }).propertyName;
      if (name !== undefined) {
        segments.push(name);
        atKey = true;
      }
    }
    const path = safePointer(segments);
    const reportedPath = error.keyword === 'additionalProperties' ? safePointer(segments.slice(0, -1)) : path;
    const where = reportedPath === '' ? 'The document' : `\`${reportedPath}\``;
    const position = context.locate(segments, { key: atKey });
    findings.push(
      makeFinding({
        file: context.file,
        line: position.line,
        column: position.column,
        kind: context.kind,
        name: context.name,
        path,
        rule: RULE_BY_KEYWORD[error.keyword] ?? 'schema.invalid',
        message: messageFor(error, where),
      }),
    );
  }
  return findings;
}
