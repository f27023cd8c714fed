// A live status line for playbook stages on a terminal (current play and task, task
// N of M, host counts), redrawn on stderr and cleared before log bytes are written.
import type { AnsibleEvent } from '../proto/ansible-events.js';
import { initialProgress, reduceProgress, renderProgressLine, type ProgressState } from '../lib/playbook-progress.js';
import { escapeControls } from './format.js';

export class ProgressLine {
  private state: ProgressState = initialProgress();
  private shown = false;
  private stage = '';

  constructor(private readonly enabled: boolean) {}

  update(stage: string, ev: AnsibleEvent): void {
    if (stage !== this.stage) {
      this.stage = stage;
      this.state = initialProgress();
    }
    this.state = reduceProgress(this.state, ev);
    if (!this.enabled) return;
    const cols = process.stderr.columns ?? 100;
    // play and task names come from the playbook: shown, never obeyed
    process.stderr.write(`\r\x1b[K${escapeControls(`[${stage}] ${renderProgressLine(this.state)}`).slice(0, cols - 1)}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
