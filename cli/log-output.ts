// A job's log bytes on our stdout: unchanged to a pipe or a file (or with --raw), and with
// control characters made visible on a terminal, so a job cannot retitle, clear or reprogram it.
import { StringDecoder } from 'node:string_decoder';
import { escapeControls } from './format.js';

export interface LogOutputOptions {
  /** stdout is a terminal. */
  tty: boolean;
  /** --raw: the bytes unchanged even on a terminal. */
  raw: boolean;
  write: (chunk: Buffer | string) => void;
}

export class LogOutput {
  /** Whether bytes are escaped: a terminal, and no --raw. */
  readonly escaping: boolean;
  /** One decoder per `stage/attempt`: a character split across chunks is escaped (or kept) whole. */
  private readonly decoders = new Map<string, StringDecoder>();
  /** Streams whose last chunk ended in `\r`: kept back until we know whether `\n` follows. */
  private readonly heldCr = new Set<string>();

  constructor(private readonly o: LogOutputOptions) {
    this.escaping = o.tty && !o.raw;
  }

  /** Bytes of one stream (`stage/attempt`), in order. */
  write(key: string, bytes: Buffer): void {
    if (!this.escaping) {
      this.o.write(bytes);
      return;
    }
    let dec = this.decoders.get(key);
    if (!dec) this.decoders.set(key, (dec = new StringDecoder('utf8')));
    this.emit(key, dec.write(bytes), false);
  }

  /** The end of the output: what the decoders still hold (an incomplete character shows as U+FFFD). */
  flush(): void {
    for (const [key, dec] of this.decoders) this.emit(key, dec.end(), true);
    this.decoders.clear();
  }

  private emit(key: string, decoded: string, last: boolean): void {
    let text = this.heldCr.delete(key) ? `\r${decoded}` : decoded;
    if (!last && text.endsWith('\r')) {
      this.heldCr.add(key);
      text = text.slice(0, -1);
    }
    if (text !== '') this.o.write(escapeControls(text, 'log'));
  }
}
