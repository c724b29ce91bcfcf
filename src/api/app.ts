/**
 * The read-only HTTP API and the Evidence Console, as an express app (no listen here: see
 * server.ts). Every revision-bound response is computed from one committed revision, carries
 * `X-Cavra-Revision` and a strong ETag, and is memoised on that revision's view. Nothing ever reads
 * a request body: there is no body parser, and non-GET methods get 405 before any body arrives.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Clock } from '../domain/ports.js';
import { GitError } from '../errors.js';
import { AUDIT_DELIVERY, FLOW_BASE, createFlowRoutes, type FlowRoute } from './flow-routes.js';
import { HttpError } from './http-error.js';
import { createMetrics, type Metrics } from './metrics.js';
import { FORMER_POST_HINTS, createMethodNotAllowedHandler } from './method-not-allowed.js';
import { createOpenApiDocument } from './openapi.js';
import { parseQuery } from './query.js';
import { prepareJson, sendError, sendPrepared, type PreparedBody } from './respond.js';
import type { RetryPlanner } from './retry-planner.js';
import { registerRevisionGauges } from './revision-gauges.js';
import type { RunObserver } from './run-observer.js';
import type { RevisionView, SnapshotSource } from './snapshot-source.js';

/** The console's static files (works from src/ under tsx and from dist/). */
const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * Chart.js's self-contained UMD build, served from the installed package (no CDN, no bundler):
 * the package's `require` entry lives in the same dist/ folder.
 */
const CHART_JS_DIR = dirname(createRequire(import.meta.url).resolve('chart.js'));
/** Files of {@link CHART_JS_DIR} the console may load, under /console/vendor/. */
const VENDOR_FILES = ['chart.umd.js', 'chart.umd.js.map'];

export interface ApiOptions {
  source: SnapshotSource;
  clock: Clock;
  /** Shared with the reconciler so one scrape shows both (default: a fresh handle). */
  metrics?: Metrics;
  /** Computes `retry-plan`; without it that route answers 503 `not_configured`. */
  planRetries?: RetryPlanner;
  /** Directory of the Evidence Console (default {@link CONSOLE_DIR}). */
  consoleDir?: string;
  /** Process start, shown by `/status` (default: when the app was created). */
  startedAt?: Date;
  /**
   * Reconcile runs this process makes (`start` passes the loop's recorder), shown by `/status` as
   * last run and last error. Without it `/status` reports the newest committed run record.
   */
  runObserver?: RunObserver;
  /** Called with unexpected errors (500/503) so the caller can log them; the client gets no details. */
  onError?: (error: unknown, request: { method: string; path: string }) => void;
}

/** Floor a time to a multiple of `resolutionMs`. */
function floorTime(time: Date, resolutionMs: number): Date {
  return new Date(Math.floor(time.getTime() / resolutionMs) * resolutionMs);
}

function setRouteName(res: Response, name: string): void {
  (res.locals as { routeName?: string }).routeName = name;
}

/**
 * Memoised, serialised answer of `route` for one view and arguments; a time-dependent route keeps
 * only its newest time bucket's answer (older buckets are never asked for again), and answers are
 * weighed by their bytes so the view's memo is bounded by bytes, not only by entries.
 */
function preparedAnswer(
  route: FlowRoute,
  view: RevisionView,
  args: unknown,
  now: Date | null,
): Promise<PreparedBody> {
  const key = `answer:${route.name}:${JSON.stringify(args)}`;
  const compute = (): Promise<PreparedBody> => {
    const answer = (async () => prepareJson(await route.compute({ view, args, now })))();
    answer.then(
      (prepared) => view.weigh(key, answer, prepared.body.length),
      (error: unknown) => {
        // A deterministic answer (404 for an unknown id) may stay cached; anything else is retried.
        if (!(error instanceof HttpError) || error.status >= 500) view.forget(key);
      },
    );
    return answer;
  };
  if (now === null) return view.memo(key, compute);
  return view.memoAt(key, { at: now.getTime(), until: now.getTime() + route.timeResolutionMs }, compute);
}

/** Express app serving every route of docs/reference.md §8 from `options.source`. */
export function createApp(options: ApiOptions): express.Express {
  const metrics = options.metrics ?? createMetrics();
  const startedAt = options.startedAt ?? options.clock.now();
  const app = express();
  app.disable('x-powered-by');
  // Express's parser builds nested objects from client input; routes parse the query themselves.
  app.set('query parser', false);
  // Express's ETags are weak; revision routes set strong ones over the exact bytes.
  app.set('etag', false);
  app.set('trust proxy', false);

  app.use((req, res, next) => {
    const stop = metrics.apiRequestDuration.startTimer();
    res.once('finish', () => {
      const route = (res.locals as { routeName?: string }).routeName ?? 'unmatched';
      stop({ route, method: req.method, status: String(res.statusCode) });
    });
    next();
  });

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      // Served over plain HTTP on loopback; HSTS belongs to the TLS-terminating proxy in front.
      strictTransportSecurity: false,
    }),
  );

  registerRevisionGauges(metrics.registry, {
    source: options.source,
    clock: options.clock,
    planRetries: options.planRetries,
  });

  const flowRoutes = createFlowRoutes({
    planRetries: options.planRetries,
    startedAt,
    isReady: () => options.source.isReady(),
    runObserver: options.runObserver,
  });
  for (const route of flowRoutes) {
    const relative = route.path.startsWith(FLOW_BASE) ? route.path.slice(FLOW_BASE.length) : null;
    const hint = relative === null ? undefined : FORMER_POST_HINTS[relative];
    app
      .route(route.path)
      .get(async (req, res) => {
        setRouteName(res, route.name);
        const query = parseQuery(req.originalUrl, [...route.params, 'at']);
        const args = route.parse(query, req.params as Record<string, string>);
        const view =
          query.at === undefined ? await options.source.current() : await options.source.at(query.at);
        const clockNow = options.clock.now();
        // Values of time buckets that are over are never asked for again: let them go now.
        view.expireBefore(clockNow.getTime());
        const now = route.timeResolutionMs > 0 ? floorTime(clockNow, route.timeResolutionMs) : null;
        const prepared = await preparedAnswer(route, view, args, now);
        sendPrepared(req, res, prepared, view);
      })
      .all(createMethodNotAllowedHandler(hint));
  }

  const healthBody = prepareJson({ status: 'ok' });
  app
    .route('/healthz')
    .get((req, res) => {
      setRouteName(res, 'healthz');
      sendPrepared(req, res, healthBody);
    })
    .all(createMethodNotAllowedHandler());

  app
    .route('/readyz')
    .get(async (_req, res) => {
      setRouteName(res, 'readyz');
      if (!options.source.isReady()) {
        try {
          await options.source.current();
        } catch (error) {
          throw new HttpError(
            503,
            'not_ready',
            'No revision of the ops repository has been read yet; see the server log.',
            {},
            { cause: error },
          );
        }
      }
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).json({ status: 'ready' });
    })
    .all(createMethodNotAllowedHandler());

  app
    .route('/metrics')
    .get(async (_req, res) => {
      setRouteName(res, 'metrics');
      const text = await metrics.registry.metrics();
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).end(text);
    })
    .all(createMethodNotAllowedHandler());

  const openApiBody = prepareJson(createOpenApiDocument());
  app
    .route('/openapi.json')
    .get((req, res) => {
      setRouteName(res, 'openapi');
      sendPrepared(req, res, openApiBody);
    })
    .all(createMethodNotAllowedHandler());

  // Former CAVRA POST paths that have no GET route of their own still answer 405 with the hint.
  for (const [relative, hint] of Object.entries(FORMER_POST_HINTS)) {
    const path = `${FLOW_BASE}${relative}`;
    if (!flowRoutes.some((route) => route.path === path)) app.all(path, createMethodNotAllowedHandler(hint));
  }

  app.get('/', (_req, res) => {
    setRouteName(res, 'root');
    res.redirect(302, '/console/');
  });
  for (const file of VENDOR_FILES) {
    app.get(`/console/vendor/${file}`, (_req, res, next) => {
      setRouteName(res, 'console-vendor');
      res.sendFile(join(CHART_JS_DIR, file), { headers: { 'Cache-Control': 'no-cache' } }, (error) => {
        // A missing file falls through to the 404; anything else (an aborted transfer) is an error.
        if (error) next((error as { status?: unknown }).status === 404 ? undefined : error);
      });
    });
  }
  app.use(
    '/console',
    (_req, res, next) => {
      setRouteName(res, 'console');
      next();
    },
    express.static(options.consoleDir ?? CONSOLE_DIR, {
      index: 'index.html',
      dotfiles: 'ignore',
      fallthrough: true,
      redirect: true,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );

  // The whole API is read-only: any other method is a 405 on every path, known or not, answered
  // before (and without) reading a body the client may be sending.
  app.use(createMethodNotAllowedHandler());
  app.use((req, _res, next) => {
    next(
      new HttpError(
        404,
        'not_found',
        `No route ${req.method} ${req.path.slice(0, 200)}; see /openapi.json for every route.`,
      ),
    );
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendError(res, toHttpError(error, req, options));
  });

  return app;
}

function toHttpError(error: unknown, req: Request, options: ApiOptions): HttpError {
  if (error instanceof HttpError) {
    // Report the underlying failure (e.g. the GitError behind a 503), not its HTTP wrapper.
    if (error.status >= 500) options.onError?.(error.cause ?? error, { method: req.method, path: req.path });
    return error;
  }
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Express's own client errors (e.g. a malformed %-escape in the path).
    return new HttpError(400, 'bad_request', 'The request could not be understood; check the URL encoding.');
  }
  options.onError?.(error, { method: req.method, path: req.path });
  if (error instanceof GitError) {
    return new HttpError(
      503,
      'repository_unavailable',
      'The ops repository could not be read; see the server log.',
    );
  }
  return new HttpError(500, 'internal', 'Internal error; see the server log.');
}

export { AUDIT_DELIVERY, FLOW_BASE };
