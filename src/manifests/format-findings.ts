/**
 * Output formats of `validate`: text for people, JSON for tools, GitHub workflow commands for
 * annotations on pull requests, and GitLab's code quality report (merge-request widget).
 * Findings never contain secret values, so formatting is plain.
 */
import { createHash } from 'node:crypto';
import type { Finding, ManifestCondition } from '../domain/types.js';

export const VALIDATE_FORMATS = ['text', 'json', 'github', 'codequality'] as const;
export type ValidateFormat = (typeof VALIDATE_FORMATS)[number];

export interface ValidationSummary {
  /** The revision validated (commit id), or `worktree`. */
  revision: string;
  findings: readonly Finding[];
  conditions: readonly ManifestCondition[];
}

export function countErrors(findings: readonly Finding[]): number {
  return findings.filter((f) => f.severity === 'error').length;
}

/** `file:line:col: severity rule: message [kind/name path]` per finding, then a summary line. */
export function formatText(summary: ValidationSummary): string {
  const lines = summary.findings.map((f) => {
    const subject = f.kind !== '' ? ` [${f.kind}${f.name !== '' ? `/${f.name}` : ''}${f.path !== '' ? ` ${f.path}` : ''}]` : '';
    return `${f.file}:${f.line}:${f.column}: ${f.severity} ${f.rule}: ${f.message}${subject}`;
  });
  const errors = countErrors(summary.findings);
  const warnings = summary.findings.length - errors;
  const valid = summary.conditions.filter((c) => c.ready).length;
  const skipped = summary.conditions.length - valid;
  lines.push(
    `${errors === 0 ? 'OK' : 'FAILED'}: ${valid} valid manifest(s), ${skipped} skipped, ${errors} error(s), ${warnings} warning(s) at ${summary.revision}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** One JSON document: `{valid, revision, error_count, warning_count, findings, conditions}`. */
function formatJson(summary: ValidationSummary): string {
  const errors = countErrors(summary.findings);
  return `${JSON.stringify(
    {
      valid: errors === 0,
      revision: summary.revision,
      error_count: errors,
      warning_count: summary.findings.length - errors,
      findings: summary.findings,
      conditions: summary.conditions,
    },
    null,
    2,
  )}\n`;
}

/** Escaping of workflow command data (message) and properties (file, title), as the runner expects. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::error file=…,line=…,col=…,title=<rule>::message` per finding (warnings as `::warning`). */
function formatGithub(summary: ValidationSummary): string {
  return summary.findings
    .map(
      (f) =>
        `::${f.severity} file=${escapeProperty(f.file)},line=${f.line},col=${f.column},title=${escapeProperty(f.rule)}::${escapeData(f.message)}\n`,
    )
    .join('');
}

/**
 * GitLab's code quality report (a subset of the Code Climate format it documents): a JSON array
 * of `{description, check_name, fingerprint, severity, location: {path, lines: {begin}}}`. The
 * fingerprint is stable across pipelines for the same finding, so GitLab shows new and fixed
 * findings between the merge request and its target branch.
 */
function formatCodeQuality(summary: ValidationSummary): string {
  const issues = summary.findings.map((f) => ({
    description: `${f.rule}: ${f.message}`,
    check_name: f.rule,
    fingerprint: createHash('sha256')
      .update(`${f.rule}\n${f.file}\n${f.kind}/${f.name}\n${f.path}\n${f.message}`)
      .digest('hex'),
    severity: f.severity === 'error' ? 'major' : 'minor',
    location: { path: f.file, lines: { begin: f.line } },
  }));
  return `${JSON.stringify(issues, null, 2)}\n`;
}

export function formatFindings(format: ValidateFormat, summary: ValidationSummary): string {
  switch (format) {
    case 'json':
      return formatJson(summary);
    case 'github':
      return formatGithub(summary);
    case 'codequality':
      return formatCodeQuality(summary);
    default:
      return formatText(summary);
  }
}
