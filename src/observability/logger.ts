/**
 * Structured logs on stderr: JSON lines (pino) when stderr is not a terminal, a short human line
 * when it is. Every message and string field passes through redaction first, so a URL or a known
 * secret value that slips into a log call still never reaches the output.
 */
import { Writable } from 'node:stream';
import type { default as PinoFunction, Logger } from 'pino';
import { expandSecret, redactText } from '../redact.js';

/**
 * pino, imported with the first logger: `validate`, `plan` and `verify` never log through one and
 * do not load it (docs/decisions.md, "Start-up loads what a command uses"). A dynamic import is
 * also what lets the bundle hold pino and still run it only then.
 */
async function loadPino(): Promise<typeof PinoFunction> {
  return (await import('pino')).default;
}

export type { Logger } from 'pino';

export interface LoggerOptions {
  write: (text: string) => void;
  isTTY: boolean;
  level?: string;
  /** Secret values (env var contents) to scrub from every line. */
  secrets?: string[];
}

export async function createLogger(options: LoggerOptions): Promise<Logger> {
  // URL values are also scrubbed piece by piece (path, query values, userinfo); redactText
  // matches each piece however the line writes it (JSON escapes, percent-encoding, any case).
  const secrets = [...new Set((options.secrets ?? []).flatMap(expandSecret))];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = redactText(chunk.toString('utf8'), secrets);
      options.write(options.isTTY ? formatForHumans(line) : line);
      done();
    },
  });
  const create = await loadPino();
  return create(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: create.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['*.token', '*.secret', '*.authorization', '*.url'], censor: '[redacted]' },
    },
    sink,
  );
}

/** `10:00:01 info  message key=value` from one pino JSON line. */
function formatForHumans(line: string): string {
  try {
    const { time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const clock = typeof time === 'string' ? time.slice(11, 19) : '';
    const extras = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const text = typeof msg === 'string' ? msg : JSON.stringify(msg ?? '');
    return `${clock} ${String(level).padEnd(5)} ${text}${extras ? ` ${extras}` : ''}\n`;
  } catch {
    return line;
  }
}

/** A logger that drops everything (tests and benches). */
export async function createSilentLogger(): Promise<Logger> {
  return (await loadPino())({ level: 'silent' });
}
