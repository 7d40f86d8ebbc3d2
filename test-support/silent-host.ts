/**
 * A loopback port that behaves like a host that is down or firewalled: connection attempts get no answer at all (the
 * SYN is dropped, so `connect()` neither succeeds nor fails until the caller gives up). A listening socket whose
 * accept queue is full does exactly that on Linux; Node always accepts, so a tiny python3 process holds it.
 * Killed by `stop()` and, as a last resort, when this process exits.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SCRIPT = `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.2)
print(port, flush=True)
time.sleep(86400)
`;

export interface SilentHost {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  stop(): void;
}

export async function startSilentHost(): Promise<SilentHost> {
  const child = spawn('python3', ['-c', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`silent host exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    stop: () => {
      process.removeListener('exit', kill);
      kill();
    },
  };
}
