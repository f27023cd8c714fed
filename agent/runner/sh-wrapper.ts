// The run wrapper in POSIX shell, run by one long-lived launcher shell per agent
// (sh-launcher.ts): the agent writes one line per run to the launcher's stdin, the launcher
// forks a subshell that is the run's wrapper. A run start costs two forks of a small shell
// and the exec of the command (through util-linux `setsid`), not a spawn from the agent's
// large Node process, which blocked the agent's event loop for tens of milliseconds per run.
// The contracts are those of wrapper.ts (the Node wrapper, kept for runs whose output is masked):
// - the wrapper ignores hangups and stops aimed at it, and runs in the launcher's session, which
//   is not the agent's (the agent starts the launcher detached): an agent restart or its service
//   stop never touches it. The launcher ends when the agent does (its stdin closes); the wrappers
//   it forked go on, reparented, like any orphan;
// - the command runs in a session and process group of its own (`setsid`, which does not fork
//   here: a background job of a non-interactive shell is no group leader), born inside the run's
//   cgroup (its subshell moves itself in before the exec), stdout and stderr appended to
//   <stem>.log, no stdin;
// - once it started: <stem>.pid (its pid) and <stem>.start (pid, kernel start time, and the
//   wrapper's pid and start time: "PID TICKS WPID WTICKS"), each written by one write(2) of a
//   few bytes, read from /proc before anything could reap the process; the file's mtime is the
//   start time, so no clock command is forked;
// - when it ends: removeOnExit files go, then <stem>.rc (exit code: 128+n for a signal, 127 for
//   a command that cannot be started) is written last, once the command's output is complete,
//   by one write(2) of a few bytes ending in a newline: a reader sees an empty file or the whole
//   line, and takes it only whole (readRc), so a newline-terminated .rc means the result is final.
//   Not a temporary file and a rename: `mv` is a fork and an exec, a third of the wrapper's CPU
//   per run on a 2-core machine (10 of 30 ms), and the whole line is as atomic to its readers;
// - "S <dir>/<stem>" and "E <dir>/<stem>" lines on the launcher's stdout tell the agent at once
//   (it polls the files too, for runs it adopted and for a notice lost with a dead agent).
// Everything on the start path is a shell builtin except the exec of `setsid`.
// The agent records what the wrapper wrote (.start, .rc) in <stem>.json; the wrapper never edits it.
import { existsSync } from 'node:fs';

/**
 * The launcher: reads lines `w DIR STEM CWD CGROUP [K=V ...] -- [FILE ...] -- ARGV...` (each word
 * single-quoted by `launchLine`) and runs each as a background subshell. `jobs` after each line
 * reaps wrappers that ended (a non-interactive dash collects finished jobs there).
 */
const SH_LAUNCHER = `
set -f
umask 077
trap '' HUP INT TERM PIPE
nl='
'
ticks() { T=null st=; IFS= read -r st < "/proc/$1/stat" 2>/dev/null; st=\${st##*") "}; [ -n "$st" ] || return 0; set -- $st; eval "T=\\\${20:-null}"; }
w() {
  exec 0< /dev/null
  d=$1 s=$2 cwd=$3 cg=$4
  shift 4
  (
    trap - HUP INT TERM PIPE
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do export "$1"; shift; done
    [ "$#" -gt 0 ] && shift
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
    [ "$#" -gt 0 ] && shift
    if [ -n "$cg" ]; then
      { echo 0 > "$cg/cgroup.procs"; } 2>/dev/null || echo "meshrun: cannot join cgroup $cg; a stop signals the process group only"
    fi
    cd "$cwd" 2>/dev/null || { echo "meshrun: cannot start \\"$1\\": cannot enter $cwd"; exit 127; }
    command -v "$1" > /dev/null 2>&1 || { echo "meshrun: cannot start \\"$1\\": not found"; exit 127; }
    exec @SETSID@ -- "$@"
  ) >> "$d/$s.log" 2>&1 < /dev/null &
  pid=$!
  ticks "$pid"; pt=$T
  read -r me _ < /proc/self/stat
  ticks "$me"; wt=$T
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
  [ "$#" -gt 0 ] && shift
  rmf=
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do rmf="$rmf$nl$1"; shift; done
  umask 022
  printf '%s\\n' "$pid" > "$d/$s.pid"
  umask 077
  printf '%s %s %s %s\\n' "$pid" "$pt" "$me" "$wt" > "$d/$s.start"
  printf 'S %s/%s\\n' "$d" "$s" 2> /dev/null
  wait "$pid"
  rc=$?
  if [ -n "$rmf" ]; then
    IFS=$nl
    @RM@ -f -- $rmf
  fi
  printf '%s\\n' "$rc" > "$d/$s.rc"
  printf 'E %s/%s\\n' "$d" "$s" 2> /dev/null
}
while IFS= read -r line; do
  eval "$line"
  jobs > /dev/null
done
`;

/** The name the launcher and its wrappers run under ($0): how `ps` and the run reaper recognise them. */
export const SH_WRAPPER_NAME = 'meshrun-run';

/** An environment variable name the launcher can `export` (anything else goes to the Node wrapper). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One word for the launcher's `eval`, single-quoted: nothing in it is expanded. A newline would end
 * the line, so it is spelled `$nl` (the launcher's newline) between quotes. Undefined for a NUL,
 * which no argv or environment can hold.
 */
export function shWord(s: string): string | undefined {
  if (s.includes('\0')) return undefined;
  return `'${s.replace(/'/g, `'\\''`).replace(/\n/g, `'"$nl"'`)}'`;
}

export interface LaunchLine {
  dir: string;
  stem: string;
  cwd: string;
  cgroup: string | null;
  /** Variables set for this run on top of the launcher's environment. */
  env: Record<string, string>;
  removeOnExit: readonly string[];
  argv: readonly string[];
}

/** The launcher's line for one run (newline-terminated); undefined when a value cannot be passed (the caller uses the Node wrapper). */
export function launchLine(l: LaunchLine): string | undefined {
  const words: (string | undefined)[] = ['w', shWord(l.dir), shWord(l.stem), shWord(l.cwd), shWord(l.cgroup ?? '')];
  for (const [k, v] of Object.entries(l.env)) {
    if (!ENV_NAME.test(k)) return undefined;
    words.push(shWord(`${k}=${v}`));
  }
  words.push('--');
  // a file named `--` would end the list early: no run removes such a file
  for (const f of l.removeOnExit) words.push(f === '--' ? undefined : shWord(f));
  words.push('--');
  for (const a of l.argv) words.push(shWord(a));
  if (words.some((w) => w === undefined)) return undefined;
  return `${words.join(' ')} &\n`;
}

/** What <stem>.start holds: the command's and the wrapper's pid and kernel start time. */
export interface StartFacts {
  pid: number;
  startTicks: number | null;
  wrapperPid: number;
  wrapperStartTicks: number | null;
}

/** Pure: parses a complete <stem>.start line ("PID TICKS WPID WTICKS\n"); undefined while partial or damaged. */
export function parseStartFacts(text: string): StartFacts | undefined {
  if (!text.endsWith('\n')) return undefined;
  const f = text.trim().split(' ');
  if (f.length !== 4) return undefined;
  const int = (s: string): number | undefined => (/^[0-9]+$/.test(s) ? Number(s) : undefined);
  const pid = int(f[0]!);
  const wrapperPid = int(f[2]!);
  if (pid === undefined || wrapperPid === undefined || pid <= 1 || wrapperPid <= 1) return undefined;
  return { pid, startTicks: int(f[1]!) ?? null, wrapperPid, wrapperStartTicks: int(f[3]!) ?? null };
}

/** Where a tool the wrapper runs lives: by absolute path, so a run's own PATH never changes which. */
function tool(name: string): string | undefined {
  return ['/usr/bin', '/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

let script: string | null | undefined;

/**
 * The launcher script with its tools' paths; null when this machine lacks /bin/sh or
 * util-linux's setsid (runs then use the Node wrapper).
 */
export function shLauncherScript(): string | null {
  if (script !== undefined) return script;
  const [setsid, rm] = ['setsid', 'rm'].map(tool);
  script = existsSync('/bin/sh') && setsid && rm ? SH_LAUNCHER.replace('@SETSID@', setsid).replace('@RM@', rm) : null;
  return script;
}
