// The run wrapper as a POSIX shell script: what wrapper.ts does for a run without secrets, at
// the cost of a shell start (about a millisecond) instead of a Node start (60-160 ms of CPU,
// which on a busy node starved the agent itself). The contracts are the same:
// - the wrapper runs in its own session (the agent spawns it detached) and ignores hangups and
//   stops aimed at it, so an agent restart or its service stop never touches the run;
// - the command runs in a session and process group of its own (`setsid`, which does not fork
//   here: a background job of a non-interactive shell is no group leader), born inside the
//   run's cgroup (the subshell moves itself in before the exec), stdout and stderr appended to
//   <stem>.log, no stdin;
// - pid, pgid and the kernel start time of the command and of the wrapper go into <stem>.json
//   as soon as it started (read from /proc before anything could reap it), for re-adoption;
// - when it ends: exit code (128+n for a signal, 127 for a command that cannot be started),
//   signal, the stop asked for as it was then, end time; removeOnExit files go; <stem>.rc is
//   written last, atomically (its presence means the metadata is final).
// <stem>.json is edited in place by `sed` on the lines the agent wrote (JSON.stringify with two
// spaces: one key per line, `null` until set), so the wrapper stays its only writer after launch.
// Runs with secrets keep the Node wrapper: their output is piped through the masker.
import { existsSync } from 'node:fs';

/** $1 DIR, $2 STEM, $3 CWD, $4 CGROUP ('' for none), then files to remove at the end, `--`, then the argv. */
export const SH_WRAPPER = `
set -f
umask 077
trap '' HUP INT TERM PIPE
d=$1 s=$2 cwd=$3 cg=$4
shift 4
rmf=
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do rmf="$rmf
$1"; shift; done
[ "$#" -gt 0 ] && shift
j="$d/$s.json"
ms() { t=$(date +%s%3N); case $t in *[!0-9]*|'') t=$(($(date +%s) * 1000));; esac; echo "$t"; }
meta() { sed "$1" "$j" > "$j.tmp" && mv -f "$j.tmp" "$j"; }
atomic() { printf '%s\\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }
ticks() { T=null st=; IFS= read -r st < "/proc/$1/stat" 2>/dev/null; st=\${st##*") "}; [ -n "$st" ] || return 0; set -- $st; eval "T=\\\${20:-null}"; }
(
  trap - HUP INT TERM PIPE
  if [ -n "$cg" ]; then
    { echo 0 > "$cg/cgroup.procs"; } 2>/dev/null || echo "meshrun: cannot join cgroup $cg; a stop signals the process group only"
  fi
  cd "$cwd" 2>/dev/null || { echo "meshrun: cannot start \\"$1\\": cannot enter $cwd"; exit 127; }
  command -v "$1" > /dev/null 2>&1 || { echo "meshrun: cannot start \\"$1\\": not found"; exit 127; }
  exec setsid -- "$@"
) >> "$d/$s.log" 2>&1 < /dev/null &
pid=$!
ticks "$pid"; pt=$T
ticks "$$"; wt=$T
meta "s/^  \\"wrapperPid\\": null,$/  \\"wrapperPid\\": $$,/; s/^  \\"wrapperStartTicks\\": null,$/  \\"wrapperStartTicks\\": $wt,/; s/^  \\"pid\\": null,$/  \\"pid\\": $pid,/; s/^  \\"pgid\\": null,$/  \\"pgid\\": $pid,/; s/^  \\"startTicks\\": null,$/  \\"startTicks\\": $pt,/; s/^  \\"startedAt\\": null,$/  \\"startedAt\\": $(ms),/"
umask 022
atomic "$d/$s.pid" "$pid"
umask 077
wait "$pid"
rc=$?
reason=null
if [ -f "$d/$s.stop" ]; then
  r=; IFS= read -r r < "$d/$s.stop"
  case $r in cancelled|timeout|superseded|fenced) reason="\\"$r\\"";; esac
fi
sig=null
[ "$rc" -gt 128 ] && sig="\\"SIG$(kill -l "$rc")\\""
if [ -n "$rmf" ]; then
  IFS='
'
  rm -f -- $rmf
fi
meta "s/^  \\"endedAt\\": null,$/  \\"endedAt\\": $(ms),/; s/^  \\"exitCode\\": null,$/  \\"exitCode\\": $rc,/; s/^  \\"signal\\": null,$/  \\"signal\\": $sig,/; s/^  \\"stopReason\\": null,$/  \\"stopReason\\": $reason,/"
atomic "$d/$s.rc" "$rc"
`;

/** The name the wrapper runs under ($0): how `ps` and the run reaper recognise it. */
export const SH_WRAPPER_NAME = 'meshrun-run';

let usable: boolean | undefined;

/** The shell wrapper needs /bin/sh and util-linux's setsid; without them runs use the Node wrapper. */
export function shWrapperUsable(): boolean {
  usable ??= existsSync('/bin/sh') && ['/usr/bin/setsid', '/bin/setsid'].some((p) => existsSync(p));
  return usable;
}
