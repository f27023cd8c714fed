// The dashboard: a few pages drawn from the coordinator's JSON API (/api/...), lists refreshed
// every few seconds, a job's page fed live by server-sent events. No framework and nothing from
// elsewhere; every value goes into the page as text (never as HTML).
const main = document.getElementById('main');
const flash = document.getElementById('flash');
const REFRESH_MS = 2000;
const LOG_MAX_CHARS = 2_000_000;

let me = null;
let stopPage = () => {};

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'line', 'path', 'text', 'title', 'defs', 'marker'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

function say(text, kind = 'info') {
  flash.textContent = text;
  flash.className = `flash ${kind}`;
  flash.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => (flash.hidden = true), 6000);
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, opts = {}) {
  const headers = { accept: 'application/json' };
  if (opts.method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-meshrun-csrf'] = me?.csrf ?? '';
  }
  const res = await fetch(path, { credentials: 'same-origin', ...opts, headers });
  if (res.status === 401) {
    location.replace('/login');
    throw new ApiError(401, 'not logged in');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || res.statusText);
  return body;
}

const ago = (ms) => {
  if (ms < 0) return 'never';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};
const time = (ms) => (ms > 0 ? new Date(ms).toLocaleString() : '-');
const cpu = (m) => (m ? `${(m / 1000).toFixed(m % 1000 ? 1 : 0)}` : '0');
const bytes = (b) => {
  if (!b) return '0';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) (b /= 1024), i++;
  return `${b.toFixed(b < 10 && i ? 1 : 0)} ${u[i]}`;
};
const badge = (state) => el('span', { class: `badge s-${state}` }, state);
const labels = (l) => Object.entries(l ?? {}).map(([k, v]) => el('span', { class: 'label' }, `${k}=${v}`));
const allowed = (name) => me.actions.find((a) => a.name === name && a.allowed);

/** A page that refreshes itself while it is shown. */
function refreshing(load, draw) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      const data = await load();
      if (!stopped) draw(data);
    } catch (err) {
      if (!stopped && err.status !== 401) say(err.message, 'error');
    }
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

async function act(action, target, name) {
  const a = allowed(action);
  if (!a) return;
  try {
    await api(`/api/${a.target}s/${encodeURIComponent(name)}/${action}`, { method: 'POST', body: '{}' });
    say(`${a.label}: ${target} ${name} - done`);
  } catch (err) {
    say(`${a.label} ${name}: ${err.message}`, 'error');
  }
}

// ---- nodes
function nodesPage() {
  const body = el('tbody');
  main.replaceChildren(
    el('h1', {}, 'Nodes'),
    el('table', { class: 'grid', id: 'nodes' }, el('thead', {}, el('tr', {}, ...['Node', 'State', 'Labels', 'Running / slots', 'CPU alloc / allocatable', 'Memory alloc / allocatable', 'Last seen', 'Mesh', ''].map((h) => el('th', {}, h)))), body),
  );
  return refreshing(
    () => api('/api/nodes'),
    ({ nodes, mesh }) => {
      body.replaceChildren(
        ...nodes.map((n) => {
          const sync = mesh?.[n.name];
          const acts = [];
          if (n.draining && allowed('undrain')) acts.push(el('button', { 'data-action': 'undrain', onclick: () => act('undrain', 'node', n.name) }, 'Undrain'));
          if (!n.draining && allowed('drain')) acts.push(el('button', { 'data-action': 'drain', onclick: () => act('drain', 'node', n.name) }, 'Drain'));
          return el(
            'tr',
            { 'data-node': n.name },
            el('td', {}, el('strong', {}, n.name), n.standby ? el('span', { class: 'label' }, 'standby') : null),
            el('td', {}, badge(n.state)),
            el('td', {}, labels(n.labels)),
            el('td', { class: 'num' }, `${n.running} / ${n.slots}`),
            el('td', { class: 'num' }, n.allocatable ? `${cpu(n.allocated?.cpuMilli)} / ${cpu(n.allocatable.cpuMilli)}` : '-'),
            el('td', { class: 'num' }, n.allocatable ? `${bytes(n.allocated?.memoryBytes)} / ${bytes(n.allocatable.memoryBytes)}` : '-'),
            el('td', { class: 'num' }, ago(n.lastSeenMs)),
            el('td', {}, !mesh ? '-' : !sync ? el('span', { class: 'muted' }, 'not a member') : sync.inSync ? el('span', { class: 'ok' }, `in sync (v${sync.appliedVersion})`) : el('span', { class: 'warn' }, `v${sync.appliedVersion} of v${sync.desiredVersion}${sync.error ? `: ${sync.error}` : ''}`)),
            el('td', {}, acts),
          );
        }),
      );
      if (nodes.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: 9, class: 'muted' }, 'no nodes have joined yet')));
    },
  );
}

// ---- jobs
function jobsPage() {
  const params = new URLSearchParams(location.search);
  const q = { state: params.get('state') ?? '', name: params.get('name') ?? '', node: params.get('node') ?? '', schedule: params.get('schedule') ?? '', page: Number(params.get('page') ?? 0) };
  const body = el('tbody');
  const pager = el('div', { class: 'pager' });
  const input = (name, placeholder) => el('input', { name, value: q[name], placeholder });
  const states = ['', 'active', 'ended', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout', 'lost'];
  const form = el(
    'form',
    { class: 'filters', id: 'job-filters' },
    el('select', { name: 'state' }, ...states.map((s) => el('option', { value: s, selected: s === q.state }, s || 'any state'))),
    input('name', 'name or id'),
    input('node', 'node'),
    input('schedule', 'schedule'),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const next = new URLSearchParams();
    for (const k of ['state', 'name', 'node', 'schedule']) if (f.get(k)) next.set(k, f.get(k));
    go(`/jobs${next.size ? `?${next}` : ''}`);
  });
  main.replaceChildren(
    el('h1', {}, 'Jobs'),
    form,
    el('table', { class: 'grid', id: 'jobs' }, el('thead', {}, el('tr', {}, ...['Job', 'Name', 'State', 'Nodes', 'Authoritative', 'Schedule', 'Submitted', 'Ended'].map((h) => el('th', {}, h)))), body),
    pager,
  );
  const query = () => {
    const p = new URLSearchParams({ state: q.state, name: q.name, node: q.node, schedule: q.schedule, page: String(q.page), size: '50' });
    return api(`/api/jobs?${p}`);
  };
  return refreshing(query, (page) => {
    body.replaceChildren(
      ...page.jobs.map((j) =>
        el(
          'tr',
          { 'data-job': j.id },
          el('td', {}, el('a', { href: `/jobs/${encodeURIComponent(j.id)}` }, j.id)),
          el('td', {}, j.name),
          el('td', {}, badge(j.state), j.exitCode !== null && j.endedAtMs ? el('span', { class: 'muted' }, ` rc ${j.exitCode}`) : null),
          el('td', {}, j.nodes.join(', ')),
          el('td', {}, j.authoritativeNode || '-'),
          el('td', {}, j.schedule || '-'),
          el('td', {}, time(j.submittedAtMs)),
          el('td', {}, time(j.endedAtMs)),
        ),
      ),
    );
    if (page.jobs.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'no job matches')));
    const pages = Math.max(1, Math.ceil(page.total / page.size));
    const to = (n) => {
      const p = new URLSearchParams(location.search);
      p.set('page', String(n));
      go(`/jobs?${p}`);
    };
    pager.replaceChildren(
      el('button', { disabled: page.page === 0, onclick: () => to(page.page - 1) }, '‹ newer'),
      el('span', {}, ` page ${page.page + 1} of ${pages} (${page.total} jobs${page.more ? '; older ones: meshrun jobs' : ''}) `),
      el('button', { disabled: page.page + 1 >= pages, onclick: () => to(page.page + 1) }, 'older ›'),
    );
  });
}

// ---- a job
/** The stage graph: columns by dependency depth, edges for needs, handoffs drawn over them. */
function stageGraph(job) {
  const W = 190, H = 64, GX = 130, GY = 40;
  const depth = new Map();
  const byName = new Map(job.stages.map((s) => [s.name, s]));
  const d = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const s = byName.get(name);
    const v = s && s.needs.length ? 1 + Math.max(...s.needs.filter((n) => byName.has(n)).map((n) => d(n, seen)), -1) : 0;
    depth.set(name, v);
    return v;
  };
  const cols = [];
  for (const s of job.stages) (cols[d(s.name)] ??= []).push(s);
  const pos = new Map();
  cols.forEach((col, x) => col.forEach((s, y) => pos.set(s.name, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
  const width = 20 + cols.length * (W + GX) - GX;
  const height = 20 + Math.max(...cols.map((c) => c.length)) * (H + GY) - GY;
  const svg = el('svg', { class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, 'data-testid': 'stage-graph' });
  svg.append(el('defs', {}, el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
  const handoffs = new Set(job.handoffs.map((h) => `${h.fromStage}>${h.toStage}`));
  for (const s of job.stages) {
    for (const n of s.needs) {
      const a = pos.get(n), b = pos.get(s.name);
      if (!a || !b) continue;
      const h = handoffs.has(`${n}>${s.name}`);
      svg.append(el('path', { d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`, class: h ? 'edge handoff' : 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const h of job.handoffs) {
    const a = pos.get(h.fromStage), b = pos.get(h.toStage);
    if (!a || !b) continue;
    const needs = byName.get(h.toStage)?.needs.includes(h.fromStage);
    if (!needs) svg.append(el('path', { d: `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 40} ${b.x + W / 2},${b.y + H + 40} ${b.x + W / 2},${b.y + H}`, class: 'edge handoff', 'marker-end': 'url(#arrow)' }));
    const mx = (a.x + W + b.x) / 2, my = (a.y + b.y) / 2 + H / 2;
    svg.append(el('text', { x: mx, y: my - 8, class: 'handoff-label', 'text-anchor': 'middle' }, 'handoff'));
    svg.append(el('text', { x: mx, y: my + 16, class: 'handoff-label', 'text-anchor': 'middle' }, `${h.fromNode} → ${h.toNode}`));
  }
  for (const s of job.stages) {
    const p = pos.get(s.name);
    const auth = s.node && s.node === job.authoritativeNode && ['starting', 'running'].includes(s.attempts.at(-1)?.state);
    svg.append(
      el(
        'g',
        { class: `stage s-${s.state}${auth ? ' authoritative' : ''}`, transform: `translate(${p.x},${p.y})`, 'data-stage': s.name },
        el('title', {}, `${s.name}: ${s.state}${s.reason ? ` (${s.reason})` : ''}`),
        el('rect', { width: W, height: H, rx: 8 }),
        el('text', { x: 10, y: 20, class: 'stage-name' }, s.name + (s.always ? ' (always)' : '')),
        el('text', { x: 10, y: 38 }, s.state),
        el('text', { x: 10, y: 55, class: 'muted' }, s.node ? `on ${s.node}, attempt ${s.attempt}` : 'not placed'),
      ),
    );
  }
  return svg;
}

function attemptsTable(job) {
  const rows = [];
  for (const s of job.stages) {
    for (const a of s.attempts) {
      const arts = a.artifacts.length && me.artifacts && a.state !== 'stale'
        ? el('a', { href: `/api/jobs/${encodeURIComponent(job.id)}/artifacts/${encodeURIComponent(s.name)}/${a.attempt}`, download: true }, `${a.artifacts.length} file(s)`)
        : a.artifacts.length ? `${a.artifacts.length} file(s)` : '-';
      rows.push(
        el(
          'tr',
          {},
          el('td', {}, s.name),
          el('td', { class: 'num' }, a.attempt),
          el('td', {}, a.node),
          el('td', {}, badge(a.state), a.staleResult ? el('span', { class: 'muted' }, ` (stale: ${a.staleResult})`) : null),
          el('td', { class: 'num' }, a.exitCode ?? '-'),
          el('td', {}, time(a.startedAtMs)),
          el('td', {}, time(a.endedAtMs)),
          el('td', {}, a.reason || ''),
          el('td', {}, arts),
        ),
      );
    }
  }
  return el('table', { class: 'grid' }, el('thead', {}, el('tr', {}, ...['Stage', 'Attempt', 'Node', 'State', 'rc', 'Started', 'Ended', 'Reason', 'Artifacts'].map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

function progressPanel(progress) {
  const out = [];
  for (const p of progress.values()) {
    const hosts = Object.entries(p.hosts).sort(([a], [b]) => a.localeCompare(b));
    out.push(
      el(
        'section',
        { class: 'progress', 'data-progress': `${p.stage}/${p.attempt}` },
        el('h3', {}, `${p.stage} (attempt ${p.attempt}): ${p.playbook ?? 'playbook'}`, p.done ? (p.ok ? ' - done' : ' - failed') : ''),
        el('p', { class: 'muted' }, p.play ? `play ${p.play}, task ${p.taskIndex}${p.taskCount ? ` of ${p.taskCount}` : ''}: ${p.task ?? ''}` : 'starting'),
        el(
          'table',
          { class: 'grid' },
          el('thead', {}, el('tr', {}, ...['Host', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'Last task'].map((h) => el('th', {}, h)))),
          el('tbody', {}, hosts.map(([h, v]) => el('tr', { class: v.counts.failed || v.counts.unreachable ? 'bad' : '' }, el('td', {}, h), ...['ok', 'changed', 'failed', 'skipped', 'unreachable'].map((k) => el('td', { class: 'num' }, v.counts[k])), el('td', {}, `${v.lastTask} (${v.lastStatus})`)))),
        ),
        p.failures.length ? el('div', { class: 'failures' }, el('h4', {}, 'Failed tasks'), el('ul', {}, p.failures.map((f) => el('li', {}, `${f.host}: ${f.task} - ${f.status}${f.rc !== undefined ? ` rc ${f.rc}` : ''}: ${f.msg}`)))) : null,
      ),
    );
  }
  return out;
}

function jobPage(id) {
  const head = el('div', { class: 'job-head' });
  const graph = el('div', { class: 'graph-box' });
  const attempts = el('div');
  const progressBox = el('div');
  const logStatus = el('span', { class: 'muted', id: 'log-status' }, 'connecting…');
  const logBox = el('pre', { class: 'log', id: 'log', 'data-testid': 'log' });
  main.replaceChildren(head, el('h2', {}, 'Stages'), graph, attempts, progressBox, el('h2', {}, 'Log ', logStatus), logBox);

  const decoders = new Map();
  const headersSeen = new Set();
  const progress = new Map();
  let logChars = 0;
  let job = null;

  /** active: not ended; ended; unsuccessful: ended other than succeeded (a retry re-runs what did not succeed). */
  const jobActionFits = (when, j) => when === 'any' || (when === 'active' ? !j.endedAtMs : when === 'unsuccessful' ? !!j.endedAtMs && j.state !== 'succeeded' : when === 'ended' && !!j.endedAtMs);

  const drawJob = (j) => {
    job = j;
    const acts = me.actions
      .filter((a) => a.target === 'job' && a.allowed && jobActionFits(a.when, j))
      .map((a) => el('button', { 'data-action': a.name, class: a.name === 'cancel' ? 'danger' : '', onclick: () => act(a.name, 'job', j.id) }, a.label));
    head.replaceChildren(
      el('h1', {}, j.name, ' ', el('span', { class: 'muted' }, j.id)),
      el(
        'p',
        { class: 'facts' },
        el('span', { 'data-testid': 'job-state' }, badge(j.state)),
        j.endedAtMs && j.exitCode !== undefined && j.exitCode !== null ? ` rc ${j.exitCode}` : '',
        ' authoritative node: ',
        el('strong', { 'data-testid': 'authoritative-node', class: 'auth' }, j.authoritativeNode || '-'),
        j.schedule ? ` · schedule ${j.schedule}` : '',
        ` · submitted ${time(j.submittedAtMs)}`,
        j.reason ? ` · ${j.reason}` : '',
      ),
      el('div', { class: 'actions' }, acts),
    );
    graph.replaceChildren(stageGraph(j));
    attempts.replaceChildren(attemptsTable(j));
  };

  const append = (node) => {
    logBox.append(node);
    logChars += node.textContent.length;
    while (logChars > LOG_MAX_CHARS && logBox.firstChild) {
      logChars -= logBox.firstChild.textContent.length;
      logBox.firstChild.remove();
    }
    if (follow) logBox.scrollTop = logBox.scrollHeight;
  };
  let follow = true;
  logBox.addEventListener('scroll', () => (follow = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 20));

  const es = new EventSource(`/api/jobs/${encodeURIComponent(id)}/stream`);
  es.addEventListener('open', () => (logStatus.textContent = 'live'));
  es.addEventListener('job', (e) => drawJob(JSON.parse(e.data)));
  es.addEventListener('header', (e) => {
    const h = JSON.parse(e.data);
    const key = `${h.stage}/${h.attempt}`;
    if (headersSeen.has(key)) return;
    headersSeen.add(key);
    if (h.handoff) append(el('div', { class: 'handoff-marker', 'data-testid': 'handoff-marker' }, `⇢ handoff: ${h.handoff.fromStage} on ${h.handoff.fromNode} → ${h.stage} on ${h.handoff.toNode}  (runner files: ${h.handoff.runDir})`));
    append(el('div', { class: 'stage-header' }, `── ${h.stage} · attempt ${h.attempt} · on ${h.node} ──`));
  });
  es.addEventListener('log', (e) => {
    const d = JSON.parse(e.data);
    const key = `${d.stage}/${d.attempt}`;
    let dec = decoders.get(key);
    if (!dec) decoders.set(key, (dec = new TextDecoder('utf-8')));
    const raw = Uint8Array.from(atob(d.data), (c) => c.charCodeAt(0));
    append(el('span', { 'data-stage': d.stage }, dec.decode(raw, { stream: true })));
  });
  es.addEventListener('gap', (e) => {
    const g = JSON.parse(e.data);
    append(el('div', { class: 'stage-header gap', 'data-testid': 'log-gap' }, `── bytes ${g.from}–${g.to} of ${g.stage} · attempt ${g.attempt} are not on the bus (past the logs stream's limits) ──`));
  });
  es.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    progress.set(`${p.stage}/${p.attempt}`, p);
    progressBox.replaceChildren(el('h2', {}, 'Playbook progress'), ...progressPanel(progress));
  });
  es.addEventListener('end', (e) => {
    es.close();
    const j = JSON.parse(e.data);
    drawJob(j);
    logStatus.textContent = `ended: ${j.state}`;
    append(el('div', { class: 'stage-header end', 'data-testid': 'log-end' }, `── job ${j.state}${j.exitCode !== undefined && j.exitCode !== null ? ` (rc ${j.exitCode})` : ''} ──`));
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) logStatus.textContent = 'disconnected: reload the page';
    else logStatus.textContent = 'reconnecting…';
  });
  return () => es.close();
}

// ---- mesh and schedules
function meshPage() {
  const box = el('div');
  main.replaceChildren(el('h1', {}, 'Mesh'), box);
  return refreshing(
    () => api('/api/mesh'),
    (m) => {
      if (!m) return box.replaceChildren(el('p', { class: 'muted' }, 'this coordinator runs without the mesh'));
      box.replaceChildren(
        el('p', { class: 'muted' }, `${m.cidr} · epoch ${m.epoch} · keepalive ${m.keepaliveS}s · ${m.revokedKeys} revoked key(s)`),
        ...m.members.map((n) =>
          el(
            'section',
            { class: 'member', 'data-member': n.name },
            el('h3', {}, n.name, ' ', el('span', { class: 'muted' }, `${n.kind} ${n.address}`), ' ', badge(n.state), ' ', n.inSync ? el('span', { class: 'ok' }, 'in sync') : el('span', { class: 'warn' }, `applied v${n.appliedVersion} of v${n.desiredVersion}`), n.error ? el('span', { class: 'error' }, ` ${n.error}`) : ''),
            el(
              'table',
              { class: 'grid' },
              el('thead', {}, el('tr', {}, ...['Peer', 'Kind', 'Endpoint', 'Handshake', 'Silent', 'rx / tx', 'Health'].map((h) => el('th', {}, h)))),
              el('tbody', {}, n.edges.map((e) => el('tr', {}, el('td', {}, e.peer), el('td', {}, e.peerKind), el('td', {}, e.endpoint || '-'), el('td', { class: 'num' }, e.handshakeAgeMs < 0 ? 'never' : `${ago(e.handshakeAgeMs)} ago`), el('td', { class: 'num' }, ago(e.silentMs)), el('td', { class: 'num' }, `${bytes(e.rxBytes)} / ${bytes(e.txBytes)}`), el('td', {}, badge(e.health))))),
            ),
          ),
        ),
      );
      if (m.members.length === 0) box.append(el('p', { class: 'muted' }, 'no mesh members yet'));
    },
  );
}

function schedulesPage() {
  const body = el('tbody');
  main.replaceChildren(el('h1', {}, 'Schedules'), el('table', { class: 'grid', id: 'schedules' }, el('thead', {}, el('tr', {}, ...['Schedule', 'Cron', 'Job', 'State', 'Last run', 'Next run'].map((h) => el('th', {}, h)))), body));
  return refreshing(
    () => api('/api/schedules'),
    ({ schedules }) => {
      body.replaceChildren(
        ...schedules.map((s) =>
          el(
            'tr',
            { 'data-schedule': s.name },
            el('td', {}, s.name),
            el('td', {}, `${s.cron} (${s.timeZone})`),
            el('td', {}, s.jobName),
            el('td', {}, s.paused ? badge('paused') : badge('active')),
            el('td', {}, s.lastRun ? [time(s.lastRun.atMs), ' ', s.lastRun.job ? el('a', { href: `/jobs/${encodeURIComponent(s.lastRun.job)}` }, s.lastRun.job) : '', ' ', s.lastRun.jobState ? badge(s.lastRun.jobState) : ''] : '-'),
            el('td', {}, s.paused ? '-' : time(s.nextRunMs)),
          ),
        ),
      );
      if (schedules.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'no schedules')));
    },
  );
}

// ---- routing
function route() {
  stopPage();
  const path = location.pathname;
  const section = path.split('/')[1] || 'nodes';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('current', a.dataset.nav === section);
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) stopPage = jobPage(decodeURIComponent(job[1]));
  else if (section === 'jobs') stopPage = jobsPage();
  else if (section === 'mesh') stopPage = meshPage();
  else if (section === 'schedules') stopPage = schedulesPage();
  else stopPage = nodesPage();
}

function go(href) {
  history.pushState(null, '', href);
  route();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/"]');
  if (!a || a.hasAttribute('download') || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);
document.getElementById('logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST', body: '{}' }).catch(() => undefined);
  location.replace('/login');
});

me = await api('/api/me');
document.getElementById('who').textContent = `${me.user} (${me.role})`;
route();
