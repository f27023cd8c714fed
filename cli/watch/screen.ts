// The terminal while the dashboard owns it: the alternate screen with the cursor hidden,
// keys read raw instead of echoed over the frame, each frame drawn in place, all undone on leave().

/** leave() is safe to call more than once (a failed draw, a signal, process exit). */
export class Screen {
  private on = false;
  private raw = false;
  private readonly restoreOnExit = (): void => this.leave();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly input: NodeJS.ReadStream,
  ) {}

  enter(onKey: (key: string) => void): void {
    this.on = true;
    this.out.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
    process.once('exit', this.restoreOnExit);
    if (this.input.isTTY) {
      // keys instead of an echo that would scribble over the frame; Ctrl-C arrives as \x03
      this.input.setRawMode(true);
      this.raw = true;
      this.input.setEncoding('utf8');
      this.input.on('data', onKey);
      this.input.resume();
    }
  }

  draw(lines: string[]): void {
    if (!this.on) return;
    this.out.write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\r\n') + '\x1b[J');
  }

  leave(): void {
    if (!this.on) return;
    this.on = false;
    process.off('exit', this.restoreOnExit);
    if (this.raw) {
      try {
        this.input.setRawMode(false);
      } catch {
        // the terminal is gone
      }
      this.input.removeAllListeners('data');
      this.input.pause();
      this.raw = false;
    }
    try {
      this.out.write('\x1b[?25h\x1b[?1049l');
    } catch {
      // the terminal is gone
    }
  }
}
