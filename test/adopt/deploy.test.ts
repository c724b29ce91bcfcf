/**
 * Issue 14, "deployment": the Dockerfile, the kustomize base under deploy/kubernetes/ and the
 * systemd unit. No container engine or cluster runs here, so:
 * - the Dockerfile is checked structurally (stages, base, packages, user, entrypoint, what it
 *   copies against .dockerignore), and its ENTRYPOINT + CMD + ENV, its HEALTHCHECK command, the
 *   StatefulSet's container (env resolved as the kubelet does: envFrom, fieldRef, $(VAR)) and the
 *   unit's ExecStart + Environment are RUN as the CLI, against a real ops remote, and probed on
 *   /healthz and /readyz. What only a host provides is mapped: /var/lib/cavra-gitops to a temp
 *   dir, the listen address to 127.0.0.1 and port 0.
 * - the manifests are validated against the Kubernetes JSON Schemas compiled into the
 *   `kubernetes-models` package (types and required fields; it does not reject unknown fields,
 *   so names that matter are checked structurally as well).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { createProgram } from '../../src/cli/main.js';
import { EXIT } from '../../src/errors.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  WEBHOOK_SECRET,
  createOpsRepo,
  deliveryYaml,
  listRemoteFiles,
  policyYaml,
  providerYaml,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import { runProcess } from '../helpers/run-process.js';
import { createTestContext } from '../cli/helpers-context.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const K8S = join(ROOT, 'deploy/kubernetes');
const STATE_ROOT = '/var/lib/cavra-gitops';
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};

/** The env vars `start` accepts (one per option); the deploy files may set only these, or the few named here. */
const START_ENV = new Set(
  createProgram(createTestContext('/').context)
    .commands.find((c) => c.name() === 'start')!
    .options.map((o) => o.envVar)
    .filter((name): name is string => name !== undefined),
);
/** Not options: what git, ssh, node and the StatefulSet's own expansion read. */
const OTHER_ENV = new Set(['HOME', 'NODE_ENV', 'GIT_SSH_COMMAND', 'POD_INDEX', 'SHARD_COUNT']);

function expectAcceptedEnv(names: Iterable<string>, where: string): void {
  for (const name of names) {
    expect(
      START_ENV.has(name) || OTHER_ENV.has(name),
      `${where}: ${name} is not an env var the CLI reads`,
    ).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------------
// Running the CLI as the deploy files say
// ---------------------------------------------------------------------------------------------

interface Running {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number>;
}

/** Map host-only paths and the listen address; everything else is passed as written. */
function mapForHere(value: string, stateRoot: string): string {
  return value.replaceAll(STATE_ROOT, stateRoot);
}
function mapEnv(env: Record<string, string>, stateRoot: string): Record<string, string> {
  const mapped = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, mapForHere(v, stateRoot)]));
  if ('CAVRA_GITOPS_HOST' in mapped) mapped.CAVRA_GITOPS_HOST = '127.0.0.1';
  if ('CAVRA_GITOPS_PORT' in mapped) mapped.CAVRA_GITOPS_PORT = '0';
  return mapped;
}

async function startCli(args: string[], env: Record<string, string>, cwd: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 128)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no API URL within 60 s:\n${err}`)), 60_000);
    const check = (): void => {
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/console\/"/.exec(err);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before serving:\n${err}`));
    });
  });
  return { child, url, stderr: () => err, exited };
}

async function expectProbesOk(url: string): Promise<void> {
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  // /readyz answers once a revision has been read (it waits for the first read itself).
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
}

async function stop(running: Running): Promise<number> {
  running.child.kill('SIGTERM');
  return running.exited;
}

interface Seeded {
  ops: OpsRepo;
  receiver: HttpReceiver;
  /** What the Secret / EnvironmentFile / `docker run -e` give the process here. */
  providerEnv: Record<string, string>;
}

const DELIVERIES = 6;
const seeded: Seeded[] = [];

/** An ops remote with six deliveries to a webhook provider, and the receiver standing in for it. */
async function seedOps(): Promise<Seeded> {
  const receiver = await startHttpReceiver();
  const ops = await createOpsRepo();
  const deliveries: Record<string, string> = {};
  for (let i = 0; i < DELIVERIES; i++) {
    deliveries[`manifests/delivery-${i}.yaml`] = deliveryYaml(`drill-${i}`, ['ops-webhook']);
  }
  await ops.commit(
    {
      'manifests/policy.yaml': policyYaml(),
      'manifests/providers.yaml': providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
      ...deliveries,
    },
    'seed',
    { date: '2026-06-28T09:00:00Z' },
  );
  const result = {
    ops,
    receiver,
    providerEnv: { HOOK_URL: `${receiver.origin}/hook`, HOOK_SECRET: WEBHOOK_SECRET },
  };
  seeded.push(result);
  return result;
}

let temp: TempDir;
beforeAll(async () => {
  temp = await createTempDir('cavra-deploy-');
});
afterAll(async () => {
  for (const { ops, receiver } of seeded) {
    await receiver.close();
    await ops.cleanup();
  }
  await temp?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[][] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: Instruction[][] = [];
  const preamble: Instruction[] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: match[1]!, args: match[2]!.trim() };
    if (instruction.keyword === 'FROM') stages.push([instruction]);
    else (stages.at(-1) ?? preamble).push(instruction);
  }
  return [preamble, ...stages];
}

/** .dockerignore as Docker reads it here: patterns in order, the last match wins, `!` re-includes. */
function isIgnored(path: string, patterns: string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    const regex = new RegExp(
      `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`,
    );
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const [preamble, build, runtime] = parseDockerfile(text) as [Instruction[], Instruction[], Instruction[]];
  const all = (stage: Instruction[], keyword: string): string[] =>
    stage.filter((i) => i.keyword === keyword).map((i) => i.args);
  const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const env = Object.fromEntries(
    all(runtime, 'ENV')
      .join(' ')
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
  const entrypoint = JSON.parse(all(runtime, 'ENTRYPOINT')[0]!) as string[];
  const cmd = JSON.parse(all(runtime, 'CMD')[0]!) as string[];

  it('is multi-stage on a slim Node 20 base, builds by packing, ships only production dependencies', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/.exec(`ARG ${all(preamble, 'ARG')[0]}`)?.[1];
    expect(base).toMatch(/^node:20[\w.-]*-slim$/);
    expect(build[0]!.args).toBe('${NODE_IMAGE} AS build');
    expect(runtime[0]!.args).toBe('${NODE_IMAGE} AS runtime');
    expect(all(build, 'RUN').join(' ')).toMatch(/npm pack .*npm ci --omit=dev/);
    expect(all(runtime, 'COPY')).toEqual(['--from=build /opt/cavra-gitops /opt/cavra-gitops']);
  });

  it('installs git, an ssh client and tini; runs as a numeric non-root user with tini forwarding signals', () => {
    const apt = all(runtime, 'RUN').join(' ');
    for (const pkg of ['git', 'openssh-client', 'tini', 'ca-certificates'])
      expect(apt).toMatch(new RegExp(`install .*\\b${pkg}\\b`));
    const user = all(runtime, 'USER');
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(entrypoint.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
    // The CLI is the entrypoint: the package's bin, where the build stage unpacked the package.
    expect(entrypoint[3]).toBe(`/opt/cavra-gitops/${PACKAGE.bin['cavra-gitops']}`);
    expect(all(runtime, 'EXPOSE')).toEqual([env.CAVRA_GITOPS_PORT]);
  });

  it('copies only files that exist and that .dockerignore lets in, including everything npm pack ships', () => {
    const sources = all(build, 'COPY').flatMap((args) => args.split(/\s+/).slice(0, -1));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(isIgnored(source, dockerignore), `${source} is excluded by .dockerignore`).toBe(false);
    }
    for (const shipped of PACKAGE.files.filter((f) => !f.startsWith('!') && f !== 'dist')) {
      expect(sources, `${shipped} (in package.json files)`).toContain(shipped);
    }
    for (const kept of ['node_modules', 'dist', '.git', 'test', '.demo'])
      expect(isIgnored(kept, dockerignore)).toBe(true);
  });

  it('sets only env vars the CLI reads', () => {
    expectAcceptedEnv(Object.keys(env), 'Dockerfile ENV');
    expect(env.CAVRA_GITOPS_STATE_DIR?.startsWith(`${STATE_ROOT}/`)).toBe(true);
  });

  it('ENTRYPOINT + CMD + ENV run as the CLI: the API answers its probes and the HEALTHCHECK command passes', async () => {
    const stateRoot = join(temp.dir, 'docker');
    const { ops, providerEnv } = await seedOps();
    const running = await startCli(
      cmd,
      { ...mapEnv(env, stateRoot), CAVRA_GITOPS_REMOTE: ops.remote, ...providerEnv },
      temp.dir,
    );
    try {
      await expectProbesOk(running.url);
      const healthcheck = JSON.parse(
        /\bCMD (\[.*\])$/.exec(all(runtime, 'HEALTHCHECK')[0]!)![1]!,
      ) as string[];
      expect(healthcheck[0]).toBe('node');
      const port = new URL(running.url).port;
      const check = await runProcess(process.execPath, healthcheck.slice(1), {
        cwd: temp.dir,
        env: { CAVRA_GITOPS_PORT: port },
      });
      expect(check.code).toBe(0);
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Container {
  name: string;
  image: string;
  args: string[];
  envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: { cpu: string; memory: string } };
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities: { drop: string[] };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface StatefulSetShape {
  spec: {
    serviceName: string;
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot: boolean; runAsUser: number; fsGroup: number };
        containers: Container[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    };
    volumeClaimTemplates: { metadata: { name: string } }[];
  };
}

/**
 * The container's environment as the kubelet builds it: envFrom first (ConfigMaps given, Secrets
 * given), then `env` in order, with fieldRef (metadata.name, metadata.labels['k']) and `$(VAR)`
 * expanded from what is defined so far (an unknown reference stays as written, `$$` is `$`).
 */
function resolvePodEnv(
  container: Container,
  sources: {
    configMaps: Record<string, Record<string, string>>;
    secrets: Record<string, Record<string, string>>;
  },
  pod: { name: string; labels: Record<string, string> },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom) {
    const data = from.configMapRef
      ? sources.configMaps[from.configMapRef.name]
      : sources.secrets[from.secretRef!.name];
    if (!data) throw new Error(`missing ${JSON.stringify(from)}`);
    Object.assign(env, data);
  }
  for (const entry of container.env) {
    if (entry.value !== undefined) {
      env[entry.name] = entry.value.replace(
        /\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (whole, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? whole)),
      );
      continue;
    }
    const path = entry.valueFrom?.fieldRef?.fieldPath;
    const label = /^metadata\.labels\['(.+)'\]$/.exec(path ?? '')?.[1];
    if (path === 'metadata.name') env[entry.name] = pod.name;
    else if (label !== undefined) env[entry.name] = pod.labels[label] ?? '';
    else throw new Error(`no stand-in for ${JSON.stringify(entry.valueFrom)}`);
  }
  return env;
}

describe('deploy/kubernetes (kustomize base)', () => {
  const kustomization = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
    images: { name: string; newTag: string }[];
  };
  const objects: K8sObject[] = kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((doc) => doc.toJS() as K8sObject),
  );
  const find = <T>(kind: string, name?: string): K8sObject & T =>
    objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as K8sObject & T;
  const sts = find<StatefulSetShape>('StatefulSet');
  const pod = sts.spec.template;
  const container = pod.spec.containers[0]!;
  const configMap = find<{ data: Record<string, string> }>('ConfigMap');

  it('lists every manifest of the directory, and those are the expected objects', () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/cavra-gitops-config',
      'PodDisruptionBudget/cavra-gitops',
      'Service/cavra-gitops',
      'Service/cavra-gitops-headless',
      'ServiceAccount/cavra-gitops',
      'StatefulSet/cavra-gitops',
    ]);
    expect(kustomization.images).toEqual([{ name: container.image, newTag: expect.any(String) as unknown }]);
  });

  it('every object validates against the Kubernetes schemas (kubernetes-models)', () => {
    for (const object of objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(
        () => new Model!(object as never).validate(),
        `${object.kind}/${object.metadata.name}`,
      ).not.toThrow();
    }
    // The validator does catch a wrong type: a probe port that is neither a name nor a number.
    const broken = structuredClone(sts) as unknown as StatefulSetShape;
    (broken.spec.template.spec.containers[0]!.ports[0] as { containerPort: unknown }).containerPort = 'http';
    expect(() => new StatefulSet(broken as never).validate()).toThrow(/containerPort/);
  });

  it('wires names together: selectors, governing Service, named port, volumes and Secrets', () => {
    const podLabels = pod.metadata.labels;
    const matches = (selector: Record<string, string>): boolean =>
      Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(matches(sts.spec.selector.matchLabels)).toBe(true);
    const headless = find<{ spec: { clusterIP: string; selector: Record<string, string> } }>(
      'Service',
      sts.spec.serviceName,
    );
    expect(headless.spec.clusterIP).toBe('None');
    const api = find<{
      spec: { selector: Record<string, string>; ports: { targetPort: string; port: number }[] };
    }>('Service', 'cavra-gitops');
    expect(matches(api.spec.selector) && matches(headless.spec.selector)).toBe(true);
    const pdb = find<{ spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
    );
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
    const portNames = container.ports.map((p) => p.name);
    expect(portNames).toContain(api.spec.ports[0]!.targetPort);
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(portNames).toContain(probe.httpGet.port);
    }
    expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual([
      '/healthz',
      '/readyz',
    ]);
    const volumes = new Set([
      ...pod.spec.volumes.map((v) => v.name),
      ...sts.spec.volumeClaimTemplates.map((v) => v.metadata.name),
    ]);
    for (const mount of container.volumeMounts) expect(volumes.has(mount.name), mount.name).toBe(true);
    expect(pod.spec.volumes.find((v) => v.secret)?.secret?.secretName).toBe('cavra-gitops-git-ssh');
    expect(container.envFrom.map((e) => e.secretRef?.name).filter(Boolean)).toEqual([
      'cavra-gitops-providers',
    ]);
  });

  it('runs non-root on a read-only root filesystem with its state on a volume, with resource requests', () => {
    const dockerUser = /^USER (\d+):/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(dockerUser) });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    const writable = container.volumeMounts.filter((m) => !m.readOnly).map((m) => m.mountPath);
    expect(writable.some((path) => env.CAVRA_GITOPS_STATE_DIR!.startsWith(`${path}/`))).toBe(true);
    expect(writable).toContain('/tmp');
    expect(container.resources.requests).toEqual({
      cpu: expect.any(String) as unknown,
      memory: expect.any(String) as unknown,
    });
  });

  it('sets only env vars the CLI reads; the shard count is the replica count', () => {
    expectAcceptedEnv(Object.keys(configMap.data), 'ConfigMap');
    expectAcceptedEnv(
      container.env.map((e) => e.name),
      'StatefulSet env',
    );
    const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
    expect(env.SHARD_COUNT?.value).toBe(String(sts.spec.replicas));
    expect(env.CAVRA_GITOPS_SHARD?.value).toBe('$(POD_INDEX)/$(SHARD_COUNT)');
    expect(env.POD_INDEX?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.labels['apps.kubernetes.io/pod-index']",
    );
  });

  it('each pod runs as the CLI with its ordinal as shard i/n: both serve the probes, together they call each delivery once', async () => {
    const { ops, receiver, providerEnv } = await seedOps();
    const pods = [];
    for (let ordinal = 0; ordinal < sts.spec.replicas; ordinal++) {
      const env = resolvePodEnv(
        container,
        {
          configMaps: { 'cavra-gitops-config': { ...configMap.data, CAVRA_GITOPS_REMOTE: ops.remote } },
          secrets: { 'cavra-gitops-providers': providerEnv },
        },
        {
          name: `${sts.metadata.name}-${ordinal}`,
          labels: { ...pod.metadata.labels, 'apps.kubernetes.io/pod-index': String(ordinal) },
        },
      );
      expect(env.CAVRA_GITOPS_SHARD).toBe(`${ordinal}/${sts.spec.replicas}`);
      expect(env.CAVRA_GITOPS_REPLICA_ID).toBe(`cavra-gitops-${ordinal}`);
      const stateRoot = join(temp.dir, `pod-${ordinal}`);
      pods.push(await startCli(container.args, mapEnv(env, stateRoot), temp.dir));
    }
    try {
      for (const running of pods) await expectProbesOk(running.url);
      // Wait for the deliveries to be recorded (a condition, not a time).
      const deadline = Date.now() + 60_000;
      while (
        (await listRemoteFiles(ops.remote, 'records/deliveries/')).length < DELIVERIES &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await listRemoteFiles(ops.remote, 'records/deliveries/')).toHaveLength(DELIVERIES);
      const ids = receiver.requests.map((r) => r.headers['webhook-id']);
      expect(new Set(ids).size).toBe(DELIVERIES);
      expect(ids).toHaveLength(DELIVERIES);
      // Both shards did work: the deliveries split across the two pods' commits.
      const trailers = await runProcess(
        'git',
        ['log', '--format=%(trailers:key=Cavra-Gitops-Replica,valueonly)', 'main'],
        {
          cwd: ops.remote,
          env: { PATH: process.env.PATH },
        },
      );
      expect(new Set(trailers.stdout.split('\n').filter(Boolean))).toEqual(
        new Set(['cavra-gitops-0', 'cavra-gitops-1']),
      );
    } finally {
      for (const running of pods) expect(await stop(running)).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// systemd
// ---------------------------------------------------------------------------------------------

function parseUnit(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\s*(#|;|$)/.test(line)) continue;
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) {
      section = header[1]!;
      continue;
    }
    const [key, ...rest] = line.split('=');
    const name = `${section}.${key!.trim()}`;
    values.set(name, [...(values.get(name) ?? []), rest.join('=').trim()]);
  }
  return values;
}

/** `Environment=` assignments as systemd splits them: whitespace-separated, double quotes group. */
function parseEnvironment(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    for (const match of value.matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = match[1] ?? match[2]!;
      const at = assignment.indexOf('=');
      env[assignment.slice(0, at)] = assignment.slice(at + 1);
    }
  }
  return env;
}

function parseEnvironmentFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('deploy/systemd', () => {
  const unit = parseUnit(readFileSync(join(ROOT, 'deploy/systemd/cavra-gitops.service'), 'utf8'));
  const one = (key: string): string => unit.get(key)?.[0] ?? '';
  const environment = parseEnvironment(unit.get('Service.Environment') ?? []);
  const envFile = parseEnvironmentFile(
    readFileSync(join(ROOT, 'deploy/systemd/cavra-gitops.env.example'), 'utf8'),
  );
  const [binary, ...args] = one('Service.ExecStart').split(/\s+/);

  it('runs the installed bin as an unprivileged user, keeps state in its StateDirectory, stops gracefully', () => {
    expect(binary).toBe('/usr/local/bin/cavra-gitops');
    expect(one('Service.User')).not.toMatch(/^(root|0|)$/);
    expect(one('Service.Type')).toBe('simple');
    expect(`/var/lib/${one('Service.StateDirectory')}`).toBe(STATE_ROOT);
    expect(args[args.indexOf('--state-dir') + 1]?.startsWith(`${STATE_ROOT}/`)).toBe(true);
    expect(one('Service.KillSignal')).toBe('SIGTERM');
    expect(one('Service.RestartPreventExitStatus')).toBe(String(EXIT.usage));
    expect(one('Service.EnvironmentFile')).toBe('/etc/cavra-gitops/cavra-gitops.env');
    expect(one('Service.ProtectSystem')).toBe('strict');
  });

  it('sets only env vars the CLI reads, in the unit and in the example env file', () => {
    expectAcceptedEnv(Object.keys(environment), 'unit Environment=');
    expectAcceptedEnv(Object.keys(envFile), 'cavra-gitops.env.example');
  });

  it('ExecStart with its Environment and env file runs as the CLI and answers the probes; SIGTERM stops it with 0', async () => {
    const stateRoot = join(temp.dir, 'systemd');
    const { ops, providerEnv } = await seedOps();
    const env = mapEnv(
      { ...envFile, ...environment, CAVRA_GITOPS_REMOTE: ops.remote, ...providerEnv },
      stateRoot,
    );
    const running = await startCli(
      args.map((a) => mapForHere(a, stateRoot)),
      env,
      temp.dir,
    );
    try {
      await expectProbesOk(running.url);
    } finally {
      expect(await stop(running)).toBe(0);
    }
    expect(existsSync(join(stateRoot, 'state', 'repo.git'))).toBe(true);
  });
});
