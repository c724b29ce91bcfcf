/**
 * `npm run bench [suite ...]`: runs the benchmark suites (validate, reconcile, report, api, history, verify), each
 * timed against a baseline measured in the same run, and prints one JSON line per suite.
 */
import { runApiBench } from './api.js';
import { runHistoryBench } from './history.js';
import { runReconcileBench } from './reconcile.js';
import { runReportBench } from './report.js';
import { runValidateBench } from './validate.js';
import { runVerifyBench } from './verify.js';

interface SuiteResult {
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}

const SUITES: Record<string, () => Promise<SuiteResult>> = {
  validate: runValidateBench,
  reconcile: runReconcileBench,
  report: runReportBench,
  api: runApiBench,
  history: runHistoryBench,
  verify: runVerifyBench,
};

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in SUITES));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown suite(s): ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}\n`,
    );
    process.exit(2);
  }
  for (const name of requested.length > 0 ? requested : Object.keys(SUITES)) {
    process.stderr.write(`running ${name} ...\n`);
    const result = await SUITES[name]!();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

await main();
