/**
 * A real PostgreSQL for the backup step (`pg_dump "$DATABASE_URL"`), when the scenario enables it
 * and `initdb`/`postgres` exist on the machine. A cluster with the scenario's database and seed
 * rows is prepared once per machine (initdb and CREATE DATABASE are the slow parts), then each
 * sandbox copies it into its directory and starts it as a child process on a free loopback port,
 * trust auth.
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` user.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PostgresScenario, SeedTable } from '../core/scenario.ts';
import type { World } from '../core/world.ts';
import { scratchRoot } from '../env.ts';

export interface RunningPostgres {
  /** `postgresql://postgres@127.0.0.1:PORT/DB` (trust auth, no password). */
  url: string;
  port: number;
  database: string;
  version: string;
  close(): Promise<void>;
}

type Found = { bin: string; version: string; uid?: number; gid?: number } | { missing: string };
let found: Found | undefined;

/** Where PostgreSQL's server binaries are, or why they cannot be used (looked up once per process). */
export function findPostgres(): Found {
  return (found ??= lookup());
}

function lookup(): Found {
  const candidates: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'initdb');
    if (fs.existsSync(p)) candidates.push(path.dirname(fs.realpathSync(p)));
  }
  if (fs.existsSync('/usr/lib/postgresql'))
    for (const v of fs.readdirSync('/usr/lib/postgresql').sort().reverse())
      candidates.push(`/usr/lib/postgresql/${v}/bin`);
  const bin = candidates.find((d) => fs.existsSync(path.join(d, 'postgres')) && fs.existsSync(path.join(d, 'initdb')));
  if (!bin) return { missing: 'initdb/postgres not found on PATH or in /usr/lib/postgresql' };
  const v = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  const version = /(\d+(?:\.\d+)?)/.exec(v.stdout ?? '')?.[1] ?? 'unknown';
  if (process.getuid?.() !== 0) return { bin, version };
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return { missing: 'running as root and there is no postgres user to run the server as' };
  const [, , uid, gid] = line.split(':');
  return { bin, version, uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function chownTree(p: string, uid: number, gid: number): Promise<void> {
  await fsp.chown(p, uid, gid);
  if ((await fsp.stat(p)).isDirectory())
    await Promise.all((await fsp.readdir(p)).map((e) => chownTree(path.join(p, e), uid, gid)));
}

/** Run a command without blocking the event loop (the other services keep answering meanwhile). */
function run(
  cmd: string,
  args: string[],
  opts: { input?: string; uid?: number; gid?: number; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { uid: opts.uid, gid: opts.gid, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      resolve({ code: null, out: String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
function literal(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
  return `'${v.replace(/'/g, "''")}'`;
}

/** SQL that creates and fills the scenario's tables (column types inferred from the first non-null value). */
export function seedSql(tables: SeedTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
    const type = (c: string) => {
      const v = t.rows.map((r) => r[c]).find((x) => x !== null && x !== undefined);
      if (typeof v === 'boolean') return 'boolean';
      if (typeof v === 'number') return Number.isInteger(v) ? 'bigint' : 'double precision';
      return 'text';
    };
    out.push(`CREATE TABLE ${ident(t.table)} (${cols.map((c) => `${ident(c)} ${type(c)}`).join(', ')});`);
    for (const r of t.rows)
      out.push(
        `INSERT INTO ${ident(t.table)} (${cols.map(ident).join(', ')}) VALUES (${cols.map((c) => literal(r[c] ?? null)).join(', ')});`,
      );
  }
  return out.join('\n') + '\n';
}

function psql(bin: string, port: number, db: string, sql: string): Promise<{ ok: boolean; err: string }> {
  const psqlBin = fs.existsSync(path.join(bin, 'psql')) ? path.join(bin, 'psql') : 'psql';
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    db,
    '-v',
    'ON_ERROR_STOP=1',
    '-q',
    '-f',
    '-',
  ];
  return run(psqlBin, args, { input: sql, timeoutMs: 20_000, env: { ...process.env, PGCONNECT_TIMEOUT: '2' } }).then(
    (r) => ({ ok: r.code === 0, err: r.out.trim() }),
  );
}

type Pg = { bin: string; version: string; uid?: number; gid?: number };

/** Start a server on a data directory; resolves once it accepts connections to `db`. */
async function serve(pg: Pg, data: string, socketDir: string, db: string) {
  const port = await freePort();
  const logFile = path.join(socketDir, 'server.log');
  const log = fs.openSync(logFile, 'a');
  const opts = ['listen_addresses=127.0.0.1', 'fsync=off', 'full_page_writes=off', 'synchronous_commit=off'];
  opts.push('max_connections=20', 'shared_buffers=16MB', 'min_wal_size=2MB', 'max_wal_size=32MB');
  const child = spawn(
    path.join(pg.bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', socketDir, ...opts.flatMap((o) => ['-c', o])],
    {
      uid: pg.uid,
      gid: pg.gid,
      stdio: ['ignore', log, log],
    },
  );
  fs.closeSync(log);
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGINT'); // fast shutdown: a checkpoint, then exit
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exitedP;
    clearTimeout(t);
  };
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exited) throw new Error(`postgres exited at start: ${fs.readFileSync(logFile, 'utf8').slice(-500)}`);
      const r = await psql(pg.bin, port, db, 'SELECT 1;');
      if (r.ok) break;
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 15 s: ${r.err}`);
      await new Promise((r2) => setTimeout(r2, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}

/**
 * A cluster with the scenario's database created and seeded, prepared once per machine (keyed by
 * PostgreSQL version, user, database and seed) so a sandbox only copies and starts it.
 */
async function prepared(pg: Pg, sc: PostgresScenario): Promise<string> {
  const seed = seedSql(sc.seed);
  const key = crypto.createHash('sha1').update(`${sc.database}\n${seed}`).digest('hex').slice(0, 12);
  const dir = path.join(
    scratchRoot(),
    `production-deploy-sandbox-pg${pg.version}-${pg.uid ?? process.getuid?.() ?? 0}-${key}`,
  );
  if (fs.existsSync(path.join(dir, 'data', 'PG_VERSION'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const data = path.join(tmp, 'data');
  await fsp.mkdir(data, { recursive: true, mode: 0o700 });
  try {
    if (pg.uid !== undefined) await chownTree(tmp, pg.uid, pg.gid!);
    // 1 MB WAL segments keep the copy small (about 23 MB instead of 39 MB).
    const init = ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--wal-segsize=1'];
    const r = await run(path.join(pg.bin, 'initdb'), init, { uid: pg.uid, gid: pg.gid, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`initdb failed: ${r.out.trim().slice(-500)}`);
    const server = await serve(pg, data, tmp, 'postgres');
    try {
      // FILE_COPY (PostgreSQL 15+) copies template1 without writing it all to the WAL.
      const strategy = Number(pg.version.split('.')[0]) >= 15 ? ' STRATEGY = FILE_COPY' : '';
      const created = await psql(pg.bin, server.port, 'postgres', `CREATE DATABASE ${ident(sc.database)}${strategy};`);
      if (!created.ok) throw new Error(`CREATE DATABASE failed: ${created.err}`);
      const seeded = await psql(pg.bin, server.port, sc.database, `${seed}CHECKPOINT;\n`);
      if (!seeded.ok) throw new Error(`seeding failed: ${seeded.err}`);
    } finally {
      await server.stop();
    }
    await fsp.rm(path.join(tmp, 'server.log'), { force: true });
    await fsp.rename(tmp, dir).catch(() => undefined); // another sandbox may have made it first
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Start PostgreSQL for the scenario; throws with the reason when it cannot. */
export async function startPostgres(world: World, sc: PostgresScenario): Promise<RunningPostgres> {
  const pg = findPostgres();
  if ('missing' in pg) throw new Error(pg.missing);
  const root = path.join(world.dir, 'postgres');
  const data = path.join(root, 'data');
  const source = await prepared(pg, sc);
  await fsp.mkdir(root, { recursive: true });
  if (pg.uid !== undefined) await fsp.chmod(world.dir, 0o755); // the postgres user must reach its data dir
  await fsp.cp(path.join(source, 'data'), data, { recursive: true });
  await fsp.chmod(data, 0o700);
  if (pg.uid !== undefined) await chownTree(root, pg.uid, pg.gid!);
  const { port, stop } = await serve(pg, data, root, sc.database);
  world.state.postgres = {
    database: sc.database,
    port,
    version: pg.version,
    tables: sc.seed.map((t) => ({ table: t.table, rows: t.rows.length })),
  };
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(sc.database)}`,
    port,
    database: sc.database,
    version: pg.version,
    close: stop,
  };
}
