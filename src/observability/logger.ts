/**
 * Structured logs on stderr: JSON lines (pino) when stderr is not a terminal, a short human line
 * when it is. Every message and string field passes through redaction first, so a URL or a known
 * secret value that slips into a log call still never reaches the output.
 */
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import type { default as PinoFunction, Logger } from 'pino';
import { expandSecret, redactText } from '../redact.js';

type Pino = typeof PinoFunction;
let loadedPino: Pino | undefined;

/**
 * pino, loaded with the first logger: `validate`, `plan` and `verify` never log through one and
 * no longer load it (~40 ms on its own; docs/decisions.md, "Start-up loads what a command uses").
 * pino is CommonJS, so it loads synchronously.
 */
function pino(): Pino {
  return (loadedPino ??= (createRequire(import.meta.url)('pino') as { default: Pino }).default);
}

export type { Logger } from 'pino';

export interface LoggerOptions {
  write: (text: string) => void;
  isTTY: boolean;
  level?: string;
  /** Secret values (env var contents) to scrub from every line. */
  secrets?: string[];
}

export function createLogger(options: LoggerOptions): Logger {
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
  const create = pino();
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

/** A logger that drops everything (library tests, machine-format commands with --quiet). */
export function createSilentLogger(): Logger {
  return pino()({ level: 'silent' });
}
