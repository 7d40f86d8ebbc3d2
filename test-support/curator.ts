/**
 * Apache Curator (Java) for interoperability tests and benchmarks: fetches Curator's jars from Maven Central once into a
 * cache folder (`mvn dependency:copy-dependencies` on a small pom), compiles a driver program with `javac`, and runs it.
 * Needs Java 17+ and Maven. When Maven Central cannot be reached the result is `{ skip }` with the reason, so a caller
 * can skip with a printed line instead of failing; any other failure throws.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CuratorSources {
  /** Folder holding `pom.xml` (the dependencies) and the driver's `.java` file. */
  dir: string;
  /** The driver's main class, also its file name without `.java`. */
  mainClass: string;
  /** Where jars and classes are cached; reused while the pom and the source are older than it. */
  cacheDir: string;
}

export interface Curator {
  readonly classpath: string;
  /** Starts `java -cp <classpath> <mainClass> ...args`. */
  spawn(args: readonly string[]): ChildProcess;
  /** Runs the driver to completion; rejects on a non-zero exit with its output. */
  exec(args: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
}

const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies';

/** Output of Maven when the repository could not be reached (no DNS, no route, refused, proxy, TLS). */
const UNREACHABLE =
  /Could not transfer|Could not resolve dependencies|UnknownHostException|Unknown host|transfer failed|Connection refused|Network is unreachable|No route to host|Connect(ion)? timed out|ConnectTimeoutException|SSLHandshakeException|Temporary failure in name resolution/i;

/** Fetches the jars (once) and compiles the driver (when its source changed). */
export async function prepareCurator(sources: CuratorSources): Promise<Curator | { skip: string }> {
  const { dir, mainClass, cacheDir } = sources;
  const lib = join(cacheDir, 'lib');
  const classes = join(cacheDir, 'classes');
  const pom = join(dir, 'pom.xml');
  const source = join(dir, `${mainClass}.java`);
  const stamp = join(lib, '.complete');
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync(pom).mtimeMs) {
    mkdirSync(lib, { recursive: true });
    try {
      // The plugin by its full coordinates: offline, a prefix lookup fails with a message that names no network error.
      await run('mvn', ['-B', '-q', '-f', pom, DEPENDENCY_PLUGIN, `-DoutputDirectory=${lib}`], {
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      const output = `${(error as { stdout?: string }).stdout ?? ''}\n${(error as { stderr?: string }).stderr ?? ''}`;
      if (UNREACHABLE.test(output)) {
        const line = output.split('\n').find((l) => UNREACHABLE.test(l))?.trim() ?? 'unreachable';
        return { skip: `Maven Central unreachable: ${line.slice(0, 300)}` };
      }
      throw new Error(`mvn dependency:copy-dependencies failed: ${output.slice(-2000)}`, { cause: error });
    }
    mkdirSync(lib, { recursive: true });
    await run('touch', [stamp]);
  }
  const classpath = `${classes}:${join(lib, '*')}`;
  const compiled = join(classes, `${mainClass}.class`);
  if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(classes, { recursive: true });
    await run('javac', ['-cp', join(lib, '*'), '-d', classes, source], { timeout: 300_000 });
  }
  if (readdirSync(lib).filter((f) => f.endsWith('.jar')).length === 0) throw new Error(`no jars in ${lib}`);
  return {
    classpath,
    spawn: (args) => spawn('java', ['-cp', classpath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    async exec(args, options = {}) {
      const { stdout } = await run('java', ['-cp', classpath, mainClass, ...args], {
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    },
  };
}
