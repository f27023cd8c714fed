// A ReadableStream fed one chunk at a time by a producer that must wait for its reader:
// `push` resolves only once the reader has taken the chunk, so a fast sender holds at most
// one chunk in memory however slow the reader is.

export class ChunkPipe {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private offered: { data: Uint8Array; taken: () => void; failed: (err: Error) => void } | undefined;
  /** The reader asked for a chunk and none was offered yet. */
  private wanted: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () =>
          new Promise<void>((resolve) => {
            this.wanted = resolve;
            this.serve();
          }),
        cancel: (reason) => this.fail(new Error(`reader stopped: ${String(reason)}`)),
      },
      { highWaterMark: 0 },
    );
  }

  /** Resolves when the reader took `data`; rejects when the pipe failed. One chunk at a time. */
  push(data: Uint8Array): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.reject(new Error('pipe already ended'));
    if (this.offered) return Promise.reject(new Error('a chunk is already waiting for the reader'));
    return new Promise<void>((taken, failed) => {
      this.offered = { data, taken, failed };
      this.serve();
    });
  }

  /** No more chunks: the reader sees the end once it has taken the last one. */
  end(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    this.serve();
  }

  /** The reader gets `err` (the object store purges what it stored); a waiting push rejects. */
  fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.offered?.failed(err);
    this.offered = undefined;
    try {
      this.controller.error(err);
    } catch {
      // already closed
    }
    this.wanted?.();
    this.wanted = undefined;
  }

  private serve(): void {
    const wanted = this.wanted;
    if (!wanted || this.error) return;
    if (this.offered) {
      const o = this.offered;
      this.offered = undefined;
      this.wanted = undefined;
      this.controller.enqueue(o.data);
      o.taken();
      wanted();
    } else if (this.ended) {
      this.wanted = undefined;
      this.controller.close();
      wanted();
    }
  }
}
