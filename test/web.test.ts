// The web dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a
// real fleet: log in with a token from `meshrun web login`, see the nodes, follow a two-stage job
// across its handoff live, cancel as an operator; a viewer gets no cancel button and the API
// refuses a forged one; no session, no data. Screenshots go to test-output/web/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Fleet, ROOT, waitFor } from './harness/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'web');
// .ci/run installs chromium: with CI set a missing browser is a failure, not a skip
if (!existsSync(CHROMIUM) && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);

let fleet: Fleet;
let browser: Browser;
let base = '';
const configs: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };

async function loginLink(who: 'operator' | 'viewer'): Promise<{ url: string; loginUrl: string; token: string; role: string }> {
  const r = await fleet.cli(['web', 'login', '--json'], { env: { MESHRUN_CONFIG: configs[who] } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function loggedIn(who: 'operator' | 'viewer'): Promise<{ ctx: BrowserContext; page: Page }> {
  const link = await loginLink(who);
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  await page.goto(link.loginUrl);
  await page.waitForURL(/\/nodes$/);
  await expect.poll(() => page.locator('#who').textContent()).toContain(who === 'operator' ? 'olga (operator)' : 'vic (viewer)');
  return { ctx, page };
}

/** A plain HTTPS request to the dashboard (the fleet's CA is not this process's). */
function http(method: string, path: string, o: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${base}${path}`, { method, headers: o.headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

async function cookieFor(who: 'operator' | 'viewer'): Promise<string> {
  const { token } = await loginLink(who);
  const r = await http('POST', '/api/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(r.status, r.text).toBe(200);
  const set = String(r.headers['set-cookie']);
  expect(set).toMatch(/HttpOnly; Secure; SameSite=Strict/);
  return /mr_session=[^;]+/.exec(set)![0];
}

/** Server-sent events of a job's stream until it ends (or `stopAfter` log events). */
async function sse(path: string, headers: Record<string, string>, stopAfter = Infinity): Promise<{ event: string; id?: string; data: string }[]> {
  return new Promise((resolve, reject) => {
    const out: { event: string; id?: string; data: string }[] = [];
    const req = httpsRequest(`${base}${path}`, { headers, rejectUnauthorized: false, agent: false }, (res) => {
      let buf = '';
      let logs = 0;
      res.setEncoding("utf8");
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: { event: string; id?: string; data: string } = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
          }
          if (ev.data === '') continue;
          out.push(ev);
          if (ev.event === 'log' && ++logs >= stopAfter) {
            req.destroy();
            return resolve(out);
          }
        }
      });
      res.on('end', () => resolve(out));
    });
    req.on('error', (err) => (out.length ? resolve(out) : reject(err)));
    req.end();
  });
}

const logText = (events: { event: string; data: string }[]): string =>
  events.filter((e) => e.event === 'log').map((e) => Buffer.from(JSON.parse(e.data).data, 'base64').toString('utf8')).join('');

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  fleet = await Fleet.start({ agents: [{ node: 'alpha', labels: 'role=bastion' }, { node: 'beta', labels: 'role=worker' }], coordinatorArgs: ['--web-listen', '127.0.0.1:0'] });
  for (const [name, role] of [['olga', 'operator'], ['vic', 'viewer']] as const) {
    const file = join(fleet.dir, `${name}.yaml`);
    const r = await fleet.cli(['user', 'add', name, '--role', role, '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    configs[role] = file;
  }
  base = (await loginLink('operator')).url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.destroy();
});

function jobFile(name: string, text: string): string {
  const path = join(fleet.dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe.skipIf(!existsSync(CHROMIUM))('the web dashboard', () => {
  it('refuses every page and API call without a session: pages go to /login, the API answers 401', async () => {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await page.goto(`${base}/jobs`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.context().close();
    for (const path of ['/api/nodes', '/api/jobs', '/api/me', '/api/mesh']) expect((await http('GET', path)).status, path).toBe(401);
    // a made-up cookie is no session either, and a token works once only
    expect((await http('GET', '/api/nodes', { headers: { cookie: 'mr_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status).toBe(401);
    const { token } = await loginLink('viewer');
    const login = (): Promise<{ status: number; text: string }> => http('POST', '/api/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect((await login()).status).toBe(200);
    const again = await login();
    expect(again.status).toBe(401);
    expect(again.text).toMatch(/unknown, used or expired/);
    // a request body past the limit is refused before it is read whole
    const big = await http('POST', '/api/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x'.repeat(20_000) }) });
    expect(big.status).toBe(413);
    expect(big.text).toMatch(/request body is at most 16384 bytes/);
    // a CLI call to a user's own login: audited with the user
    const audit = await fleet.cli(['audit', '--json']);
    expect(audit.stdout).toMatch(/"user":"vic","role":"viewer","method":"CreateWebLogin"/);
  });

  it('an operator logs in and sees the nodes with their state and labels', async () => {
    const { ctx, page } = await loggedIn('operator');
    const alpha = page.locator('tr[data-node="alpha"]');
    await expect.poll(() => alpha.textContent()).toMatch(/alpha.*ready.*role=bastion/);
    await expect.poll(() => page.locator('tr[data-node="beta"]').textContent()).toMatch(/beta.*ready.*role=worker/);
    // an operator may drain: the button is there
    expect(await alpha.locator('button[data-action="drain"]').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'nodes.png'), fullPage: true });
    await ctx.close();
  });

  it('follows a two-stage job live across its handoff: the log, the handoff marked, the authoritative node switching', async () => {
    const gate1 = join(fleet.dir, 'gate-1');
    const gate2 = join(fleet.dir, 'gate-2');
    const job = jobFile(
      'handoff',
      `name: site-lab
stages:
  - name: validate
    on: { node: alpha }
    run: { command: [sh, -c, 'echo "validating on $MESHRUN_NODE"; while [ ! -e ${gate1} ]; do sleep 0.1; done; echo validated'] }
  - name: lab
    on: { node: beta }
    run: { command: [sh, -c, 'echo "lab body on $MESHRUN_NODE"; while [ ! -e ${gate2} ]; do sleep 0.1; done; echo lab done'] }
`,
    );
    const sub = await fleet.cli(['submit', '--id', 'web-handoff', job]);
    expect(sub.code, sub.stderr).toBe(0);
    const { ctx, page } = await loggedIn('operator');
    await page.goto(`${base}/jobs/web-handoff`);
    const log = page.getByTestId('log');
    const auth = page.getByTestId('authoritative-node');
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('validating on alpha');
    await expect.poll(() => auth.textContent()).toBe('alpha');
    expect(await page.getByTestId('handoff-marker').count()).toBe(0);

    writeFileSync(gate1, '');
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('lab body on beta');
    await expect.poll(() => auth.textContent()).toBe('beta');
    const marker = page.getByTestId('handoff-marker');
    expect(await marker.count()).toBe(1);
    expect(await marker.textContent()).toMatch(/handoff: validate on alpha → lab on beta/);
    // the log is in order: the first stage's output, the marker, then the second stage's
    const text = (await log.textContent())!;
    expect(text.indexOf('validated')).toBeLessThan(text.indexOf('handoff: validate'));
    expect(text.indexOf('handoff: validate')).toBeLessThan(text.indexOf('lab body on beta'));
    // the stage graph draws the handoff and marks where the job is now
    expect(await page.locator('svg.graph .edge.handoff').count()).toBeGreaterThan(0);
    expect(await page.locator('svg.graph .stage.authoritative').getAttribute('data-stage')).toBe('lab');
    await page.screenshot({ path: join(SHOTS, 'job-page-handoff.png'), fullPage: true });
    // MESHRUN_DOCS_SCREENSHOT=1 refreshes the README's picture of this moment
    if (process.env.MESHRUN_DOCS_SCREENSHOT) {
      mkdirSync(join(ROOT, 'docs', 'img'), { recursive: true });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: join(ROOT, 'docs', 'img', 'job-page-handoff.png') });
    }

    writeFileSync(gate2, '');
    // the live log ends with the job
    await expect.poll(() => page.getByTestId('log-end').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('log-end').textContent()).toMatch(/job succeeded/);
    expect(await page.locator('#log-status').textContent()).toBe('ended: succeeded');
    expect(await page.getByTestId('job-state').textContent()).toBe('succeeded');
    // the list shows it, filtered by node and state
    await page.goto(`${base}/jobs?node=beta&state=succeeded`);
    await expect.poll(() => page.locator('tr[data-job="web-handoff"]').count()).toBe(1);
    await page.goto(`${base}/jobs?node=beta&state=failed`);
    await expect.poll(() => page.locator('#jobs tbody').textContent()).toContain('no job matches');
    await ctx.close();
  });

  it('a stream resumed from its Last-Event-ID continues where it was: no gap, no byte twice', async () => {
    const cookie = await cookieFor('viewer');
    const whole = await sse('/api/jobs/web-handoff/stream', { cookie });
    const full = logText(whole);
    expect(full).toContain('validating on alpha');
    expect(full).toContain('lab done');
    expect(whole.at(-1)?.event).toBe('end');
    const firstLogs = whole.filter((e) => e.event === 'log');
    expect(firstLogs.length).toBeGreaterThan(1);
    // cut after the first chunk, come back with its id
    const head = await sse('/api/jobs/web-handoff/stream', { cookie }, 1);
    const id = head.filter((e) => e.event === 'log').at(-1)!.id!;
    const rest = await sse('/api/jobs/web-handoff/stream', { cookie, 'last-event-id': id });
    expect(logText(head) + logText(rest)).toBe(full);
    // a broken id is refused, naming the header
    const bad = await http('GET', '/api/jobs/web-handoff/stream', { headers: { cookie, 'last-event-id': 'x;y' } });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/Last-Event-ID/);
  });

  it('shows per-host playbook progress and failed tasks; an operator downloads artifacts, a viewer is refused them', async () => {
    const ws = join(fleet.dir, 'pb-ws');
    mkdirSync(ws, { recursive: true });
    writeFileSync(
      join(ws, 'site.yml'),
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: make the result\n      shell: mkdir -p out && echo built > out/result.txt\n    - name: break on purpose\n      command: sh -c 'echo disk full >&2; exit 3'\n`,
    );
    const job = jobFile('pb', `name: pb\nstages:\n  - name: site\n    on: { node: alpha }\n    run: { playbook: site.yml }\n    artifacts: ['out/**']\n`);
    const r = await fleet.cli(['submit', '--workspace', ws, '--id', 'web-pb', '--follow', job]);
    expect(r.code, r.stderr).toBe(2);
    const { ctx, page } = await loggedIn('operator');
    await page.goto(`${base}/jobs/web-pb`);
    const progress = page.locator('[data-progress="site/1"]');
    // host, ok, changed, failed, skipped, unreachable, the last task
    await expect.poll(() => progress.locator('tbody tr').first().textContent(), { timeout: 30_000 }).toBe('localhost01100break on purpose (failed)');
    expect(await progress.locator('h3').textContent()).toMatch(/site \(attempt 1\): .*failed/);
    expect(await progress.locator('.failures').textContent()).toMatch(/localhost: break on purpose - failed rc 3: [\s\S]*disk full/);
    const link = page.locator('a[download]');
    expect(await link.count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'job-playbook.png'), fullPage: true });
    const href = (await link.getAttribute('href'))!;
    await ctx.close();
    const got = await new Promise<{ status: number; type?: string; head: Buffer }>(async (resolve, reject) => {
      const cookie = await cookieFor('operator');
      httpsRequest(`${base}${href}`, { headers: { cookie }, rejectUnauthorized: false, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], head: Buffer.concat(chunks).subarray(0, 2) }));
      })
        .on('error', reject)
        .end();
    });
    expect(got).toMatchObject({ status: 200, type: 'application/gzip' });
    expect(got.head.toString('hex')).toBe('1f8b');
    const viewer = await http('GET', href, { headers: { cookie: await cookieFor('viewer') } });
    expect(viewer.status).toBe(403);
    expect(viewer.text).toMatch(/vic is a viewer; GetArtifacts needs the operator role/);
  });

  it('an operator cancels a running job from its page', async () => {
    const job = jobFile('long', `name: long\nstages:\n  - name: wait\n    on: { node: alpha }\n    run: { command: [sh, -c, 'echo waiting; sleep 600'] }\n`);
    expect((await fleet.cli(['submit', '--id', 'web-cancel', job])).code).toBe(0);
    const { ctx, page } = await loggedIn('operator');
    await page.goto(`${base}/jobs/web-cancel`);
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toContain('waiting');
    await page.locator('button[data-action="cancel"]').click();
    await fleet.waitJob('web-cancel', (j) => j.state === 'cancelled', 'cancelled from the page');
    await expect.poll(() => page.getByTestId('job-state').textContent(), { timeout: 30_000 }).toBe('cancelled');
    await page.screenshot({ path: join(SHOTS, 'job-cancelled.png'), fullPage: true });
    const audit = await fleet.cli(['audit', '--json']);
    expect(audit.stdout).toMatch(/"user":"olga","role":"operator","method":"CancelJob","target":"web-cancel","peer":"web:[^"]*","outcome":"ok"/);
    // the cancelled job offers its retry: a second run of the stage, started by the operator
    expect(await page.locator('button[data-action="cancel"]').count()).toBe(0);
    await page.locator('button[data-action="retry"]').click();
    const again = await fleet.waitJob('web-cancel', (j) => j.stages[0]!.attempts[1]?.state === 'running', 'running again after the retry');
    expect(again.stages[0]!.attempts.map((a) => a.state)).toEqual(['cancelled', 'running']);
    expect((await fleet.cli(['audit', '--json'])).stdout).toMatch(/"user":"olga","role":"operator","method":"RetryJob","target":"web-cancel","peer":"web:[^"]*","outcome":"ok"/);
    await fleet.cli(['cancel', 'web-cancel']);
    await ctx.close();
  });

  it('a viewer sees the job but no cancel button, and the API refuses a forged cancel or drain anyway', async () => {
    const job = jobFile('long2', `name: long2\nstages:\n  - name: wait\n    on: { node: alpha }\n    run: { command: [sh, -c, 'echo still here; sleep 600'] }\n`);
    expect((await fleet.cli(['submit', '--id', 'web-viewer', job])).code).toBe(0);
    const { ctx, page } = await loggedIn('viewer');
    await page.goto(`${base}/jobs/web-viewer`);
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toContain('still here');
    expect(await page.locator('button[data-action="cancel"]').count()).toBe(0);
    expect(await page.locator('button[data-action="retry"]').count()).toBe(0);
    await page.goto(`${base}/nodes`);
    await expect.poll(() => page.locator('tr[data-node="alpha"]').count()).toBe(1);
    expect(await page.locator('button[data-action="drain"]').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'viewer-nodes.png'), fullPage: true });
    // the request the hidden button would send, with the session's own CSRF token
    const forged = await page.evaluate(async () => {
      const me = await (await fetch('/api/me')).json();
      const post = async (path: string) => {
        const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-meshrun-csrf': me.csrf }, body: '{}' });
        return { status: r.status, body: await r.json() };
      };
      return { cancel: await post('/api/jobs/web-viewer/cancel'), drain: await post('/api/nodes/alpha/drain'), retry: await post('/api/jobs/web-viewer/retry') };
    });
    expect(forged.retry.status).toBe(403);
    expect(forged.retry.body.error).toBe('vic is a viewer; RetryJob needs the operator role');
    expect(forged.cancel.status).toBe(403);
    expect(forged.cancel.body.error).toBe('vic is a viewer; CancelJob needs the operator role');
    expect(forged.drain.status).toBe(403);
    expect((await fleet.job('web-viewer')).state).toBe('running');
    expect((await fleet.nodes()).find((n) => n.name === 'alpha')?.state).toBe('ready');
    await ctx.close();

    // an operator's session without the CSRF header (a cross-site form) is refused too
    const cookie = await cookieFor('operator');
    const noCsrf = await http('POST', '/api/jobs/web-viewer/cancel', { headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.text).toMatch(/x-meshrun-csrf header is missing or wrong/);
    expect((await fleet.job('web-viewer')).state).toBe('running');
    await fleet.cli(['cancel', 'web-viewer']);
  });

  it('a removed user\'s session ends at its next request', async () => {
    const file = join(fleet.dir, 'tmp.yaml');
    expect((await fleet.cli(['user', 'add', 'tempo', '--role', 'viewer', '-o', file])).code).toBe(0);
    const r = await fleet.cli(['web', 'login', '--json'], { env: { MESHRUN_CONFIG: file } });
    const login = await http('POST', '/api/login', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: JSON.parse(r.stdout).token }) });
    const cookie = /mr_session=[^;]+/.exec(String(login.headers['set-cookie']))![0];
    expect((await http('GET', '/api/nodes', { headers: { cookie } })).status).toBe(200);
    expect((await fleet.cli(['user', 'remove', 'tempo'])).code).toBe(0);
    await waitFor('the session to end', async () => (await http('GET', '/api/nodes', { headers: { cookie } })).status === 401);
    // and a removed user gets no new login
    const again = await fleet.cli(['web', 'login', '--json'], { env: { MESHRUN_CONFIG: file } });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not registered to an active user/);
  });
});
