# Ansible callback plugin: appends one JSON event per line to $MESHRUN_EVENTS_FILE
# so the agent can follow a run live without parsing stdout. Schema: proto/ansible-events.ts.
#
# Why a file and not stdout escape codes: stdout stays human-readable (default
# callback), and the file is durable across agent restarts. Final events are
# fsynced, and an atexit hook closes a run that died mid-play, so the recap/end
# race known from ansible-runner#1330 cannot drop them.
from __future__ import annotations

DOCUMENTATION = '''
    name: meshrun_events
    type: notification
    short_description: write structured run events as JSON lines for meshrun
    description:
      - Appends playbook/play/task/host/recap events to the file named by MESHRUN_EVENTS_FILE.
    requirements:
      - environment variable MESHRUN_EVENTS_FILE
      - optional MESHRUN_MASK_FILE (JSON list of secret values replaced by *** in every event)
'''

import atexit
import json
import os
import re
import signal
import threading
import time

from ansible import constants as C
from ansible.playbook.block import Block
from ansible.playbook.task import Task
from ansible.plugins.callback import CallbackBase

MSG_LIMIT = 4096
ENV_FILE = 'MESHRUN_EVENTS_FILE'
MASK_FILE = 'MESHRUN_MASK_FILE'
MASK = '***'

# The run's secret values (agent/runner/mask.ts chose them), as one pattern: at each position
# the longest value wins, like the wrapper masks the log. None: nothing to mask.
_mask_re = None


def _load_masks(path):
    global _mask_re
    with open(path, encoding='utf-8') as f:
        values = json.load(f)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError('not a list of strings')
    values = sorted({v for v in values if v}, key=len, reverse=True)
    _mask_re = re.compile('|'.join(re.escape(v) for v in values)) if values else None


def _mask(value):
    """The value with every secret in every string replaced by ***, keys included."""
    if _mask_re is None:
        return value
    if isinstance(value, str):
        return _mask_re.sub(MASK, value)
    if isinstance(value, dict):
        return {_mask(k): _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return _mask_re.sub(MASK, str(value))


def _truncate(text):
    # masked before it is cut, so a value cut in two is not left half in clear
    text = _mask(str(text))
    if len(text) <= MSG_LIMIT:
        return text
    return text[:MSG_LIMIT] + '... [truncated %d chars]' % (len(text) - MSG_LIMIT)


def _failure_text(res):
    """The result's msg and stderr; for loops, the first failed item's, since the
    top-level msg is only 'One or more items failed'."""
    parts = []
    for key in ('msg', 'stderr', 'censored'):
        val = res.get(key)
        if val and str(val).strip() and str(val) not in parts:
            parts.append(str(val).strip())
    for item in res.get('results') or []:
        if isinstance(item, dict) and (item.get('failed') or item.get('unreachable')):
            sub = _failure_text(item)
            if sub:
                parts.append('item %s: %s' % (item.get('item', '?'), sub))
            break
    if not parts and res.get('stdout'):
        parts.append(str(res['stdout']).strip())
    return _truncate('\n'.join(parts)) if parts else None


def _is_implicit(task):
    # Implicit tasks (flush_handlers/noop/role_complete metas that Play.compile adds)
    # are withheld from plugins that do not set wants_implicit_tasks; explicit
    # `meta:` tasks written by the user are announced like any other task.
    return bool(getattr(task, 'implicit', False))


def _gathers_facts(play, all_vars):
    """Mirror PlayIterator: the implicit 'Gathering Facts' task is a real started task."""
    gathering = C.DEFAULT_GATHERING
    setting = play.gather_facts
    implied = setting is None or bool(setting)
    if not ((gathering in ('implicit', 'smart') and implied) or (gathering == 'explicit' and setting)):
        return False
    block = Block(play=play)
    task = Task(block=block)
    task.action = 'gather_facts'
    if not play.tags:
        task.tags = ['always']
    task.set_loader(play._loader)
    block.block = [task]
    return block.filter_tagged_tasks(all_vars).has_tasks()


def _count_tasks(play):
    """Tasks that will get a task_start on the happy path: the play's compiled blocks
    filtered by --tags/--skip-tags as PlayIterator does, minus implicit tasks (never
    announced to us) and rescue sections (run only on failure)."""
    vm = play.get_variable_manager()
    all_vars = vm.get_vars(play=play) if vm is not None else {}

    def walk(items):
        n = 0
        for item in items:
            if isinstance(item, Block):
                n += walk(item.block) + walk(item.always)
            elif not _is_implicit(item):
                n += 1
        return n

    total = 1 if _gathers_facts(play, all_vars) else 0
    return total + walk(b.filter_tagged_tasks(all_vars) for b in play.compile())


def _play_hosts(play):
    vm = play.get_variable_manager()
    inventory = getattr(vm, '_inventory', None)
    if inventory is None:
        return None  # unknown, which is not the same as "no hosts matched"
    # restrict_to_hosts() has already narrowed the inventory to this serial batch.
    return [h.name for h in inventory.get_hosts(play.hosts, order=play.order)]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'meshrun_events'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # send_callback is already serialised by the TQM lock; ours also covers atexit
        # and the SIGTERM handler, which may interrupt an _emit on the main thread.
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._fd = None
        self._seq = 0
        self._started = False
        self._ended = False
        self._write_failed = False
        self._play = None
        self._task_index = 0
        self._handler_index = 0
        self._seen_tasks = set()
        path = os.environ.get(ENV_FILE)
        if not path:
            self._display.warning('meshrun_events: %s is not set; no events will be written' % ENV_FILE)
            self.disabled = True
            return
        mask_path = os.environ.get(MASK_FILE)
        if mask_path:
            try:
                _load_masks(mask_path)
            except (OSError, ValueError) as err:
                # events unmasked could carry the run's secrets: none rather than those
                self._display.warning('meshrun_events: cannot read %s (%s); no events will be written' % (MASK_FILE, err))
                self.disabled = True
                return
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            self._display.warning('meshrun_events: cannot open %s: %s' % (path, err))
            self.disabled = True
            return
        atexit.register(self._at_exit)
        # ansible-playbook 2.14 dies on SIGTERM (cancel, timeout) without running
        # atexit; close the stream first, then die by the same signal as before.
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, self._on_sigterm)

    # -- writing ---------------------------------------------------------

    def _emit(self, etype, durable=False, **fields):
        if self._fd is None:
            return
        with self._lock:
            self._seq += 1
            event = {'type': etype, 'ts': int(time.time() * 1000), 'seq': self._seq}
            event.update(_mask(fields))
            # ensure_ascii: bytes we write are always valid UTF-8, whatever the module printed.
            data = (json.dumps(event, ensure_ascii=True, default=str) + '\n').encode('ascii')
            try:
                # One write() per line on an O_APPEND fd: no userspace buffer to flush,
                # and a tailing reader never sees two events interleaved.
                while data:
                    data = data[os.write(self._fd, data):]
                if durable:
                    os.fsync(self._fd)
            except OSError as err:
                if not self._write_failed:
                    self._write_failed = True
                    self._display.warning('meshrun_events: write failed: %s' % err)

    def _on_sigterm(self, signum, frame):
        self._at_exit(signal='SIGTERM')
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    def _at_exit(self, **why):
        # Workers are forked children; only the process that owns the run may close it.
        if os.getpid() != self._pid:
            return
        if self._started and not self._ended:
            self._ended = True
            self._emit('playbook_end', durable=True, ok=False, aborted=True, **why)
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    # -- playbook / play / task -----------------------------------------

    def v2_playbook_on_start(self, playbook):
        self._started = True
        self._emit('playbook_start', playbook=str(getattr(playbook, '_file_name', '') or ''))

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()
        self._task_index = 0
        self._handler_index = 0
        self._seen_tasks = set()
        try:
            hosts = _play_hosts(play)
        except Exception:
            hosts = None
        try:
            # No matching hosts: Ansible skips the play, so no task will start.
            task_count = 0 if hosts == [] else _count_tasks(play)
        except Exception as err:
            # A count is a UI nicety; never let it break the run. null = unknown.
            self._display.vvv('meshrun_events: cannot count tasks: %s' % err)
            task_count = None
        self._emit('play_start', play=self._play, hosts=hosts or [], taskCount=task_count)

    def _task_start(self, task, handler):
        # The free strategy announces a task once per host; report it once. Handlers
        # are not deduplicated: each flush that runs one is a real new start.
        if not handler:
            if task._uuid in self._seen_tasks:
                return
            self._seen_tasks.add(task._uuid)
        if handler:
            self._handler_index += 1
            index = self._handler_index
        else:
            self._task_index += 1
            index = self._task_index
        self._emit('task_start', play=self._play, task=task.get_name().strip(), taskIndex=index,
                   action=str(task.action), handler=handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task, handler=False)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, handler=True)

    # -- host results ----------------------------------------------------

    def _host_result(self, result, status, ignore_errors=None):
        task = result._task
        if _is_implicit(task):
            return  # implicit tasks never get a task_start; a stray result would confuse followers
        res = result._result if isinstance(result._result, dict) else {}
        fields = {'task': task.get_name().strip(), 'host': result._host.get_name(), 'status': status}
        if status in ('failed', 'unreachable'):
            msg = _failure_text(res)
            if msg:
                fields['msg'] = msg
        rc = res.get('rc')
        if isinstance(rc, int) and not isinstance(rc, bool):
            fields['rc'] = rc
        if ignore_errors is not None:
            fields['ignoreErrors'] = bool(ignore_errors)
        self._emit('host_result', **fields)

    def v2_runner_on_ok(self, result):
        changed = isinstance(result._result, dict) and bool(result._result.get('changed'))
        self._host_result(result, 'changed' if changed else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # Ansible passes the task's ignore_errors, which is None when unset.
        self._host_result(result, 'failed', ignore_errors=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._host_result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._host_result(result, 'unreachable')

    # -- end -------------------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        ok = True
        for name in sorted(stats.processed.keys()):
            s = stats.summarize(name)
            hosts[name] = {
                'ok': s['ok'], 'changed': s['changed'], 'failed': s['failures'],
                'skipped': s['skipped'], 'unreachable': s['unreachable'],
                'rescued': s['rescued'], 'ignored': s['ignored'],
            }
            if s['failures'] or s['unreachable']:
                ok = False
        self._emit('recap', durable=True, hosts=hosts)
        self._ended = True
        self._emit('playbook_end', durable=True, ok=ok)
