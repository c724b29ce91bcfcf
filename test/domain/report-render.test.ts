/** Markdown and plain-table renderings of the report: golden files plus the escaping rules. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeRetryRecoveryReport } from '../../src/domain/report.js';
import { renderReportMarkdown, renderReportTable } from '../../src/reports/render-report.js';
import type { GoldenInput } from '../fixtures/report/build-inputs.js';
import { fixtureId, makePlaybook, recordSet } from '../fixtures/report/factories.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/report');

function envelopeOf(name: string) {
  const input = JSON.parse(readFileSync(join(FIXTURES, `${name}.input.json`), 'utf8')) as GoldenInput;
  return computeRetryRecoveryReport(input.records, { ...input.options, now: new Date(input.options.now) });
}

function expectGolden(file: string, actual: string): void {
  const path = join(FIXTURES, file);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`missing ${path}; run with UPDATE_GOLDEN=1`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('report renderers', () => {
  it.each(['row-and-provider-ordering', 'trends-across-utc-midnight', 'no-executions'])(
    '%s renders as golden markdown and table',
    (name) => {
      const envelope = envelopeOf(name);
      expectGolden(`${name}.expected.md`, renderReportMarkdown(envelope));
      expectGolden(`${name}.expected.txt`, renderReportTable(envelope));
    },
  );

  it('markdown has every section as a GFM table with one column count per table', () => {
    const markdown = renderReportMarkdown(envelopeOf('row-and-provider-ordering'));
    for (const title of [
      '## Summary',
      '## Retry recovery SLO by provider',
      '## Recovery rows',
      '## Closure trends',
      '## Latest executions',
    ]) {
      expect(markdown).toContain(title);
    }
    for (const block of markdown.split('\n\n').filter((part) => part.startsWith('|'))) {
      const lines = block.split('\n').filter((line) => line !== '');
      const counts = new Set(lines.map((line) => line.replace(/\\\|/g, '').split('|').length));
      expect(counts.size).toBe(1);
    }
  });

  it('escapes pipes, HTML and line breaks from record values', () => {
    const envelope = computeRetryRecoveryReport(
      recordSet({
        playbooks: [
          makePlaybook({
            id: fixtureId('gordackrecovery-', 1),
            generatedAt: '2026-06-28T10:00:00.000Z',
            providers: [{ provider: 'a|b<script>\nc' }],
          }),
        ],
      }),
      { sloMinutes: 240, generatedBy: 'x|y', now: new Date('2026-06-28T12:00:00.000Z'), revision: 'r' },
    );
    const markdown = renderReportMarkdown(envelope);
    expect(markdown).toContain('a\\|b&lt;script> c');
    expect(markdown).not.toContain('<script>');
    expect(renderReportTable(envelope)).toContain('a|b<script> c');
  });
});
