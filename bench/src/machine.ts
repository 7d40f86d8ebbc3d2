import { execSync } from 'node:child_process';
import os from 'node:os';

/** A one-paragraph description of the machine a benchmark ran on. */
export function describeMachine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const memGiB = (os.totalmem() / 1024 ** 3).toFixed(1);
  let distro = '';
  try {
    distro = execSync('. /etc/os-release && echo "$PRETTY_NAME"', { shell: '/bin/sh' }).toString().trim();
  } catch {
    distro = os.platform();
  }
  const load = os.loadavg().map((n) => n.toFixed(2)).join(' ');
  return `${os.cpus().length} × ${cpu}, ${memGiB} GiB RAM, ${distro}, kernel ${os.release()}, Node ${process.version}; load average before the run: ${load}. Load generator and server(s) on the same machine.`;
}
