// Unit tests for building the ansible-playbook argv/env: flags, defaults, the plugin
// directory, and rejection of playbook/inventory paths that could leave the workspace.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../lib/errors.js';
import { buildPlaybookCommand, callbackPluginDir } from '../agent/ansible/playbook-command.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const opts = { cwd: '/var/lib/meshrun/ws/job1', eventsFile: 'run.events.jsonl', pluginDir: '/plugins' };

describe('buildPlaybookCommand', () => {
  it('defaults to running against this node with a local connection', () => {
    const { argv, cwd } = buildPlaybookCommand({ playbook: 'site.yml' }, opts);
    expect(argv).toEqual([
      'ansible-playbook',
      '--inventory=localhost,',
      '--connection=local',
      '--',
      '/var/lib/meshrun/ws/job1/site.yml',
    ]);
    expect(cwd).toBe(opts.cwd);
  });

  it('passes every option as a single argv element, extra vars as one JSON argument', () => {
    const { argv } = buildPlaybookCommand(
      {
        playbook: 'plays/site.yml',
        inventory: 'inv/hosts.ini',
        limit: '-web*',
        tags: ['pkgs', 'config'],
        extraVars: { version: '1.2', nested: { a: [1, 'two words; rm -rf /'] } },
        check: true,
      },
      opts,
    );
    expect(argv).toEqual([
      'ansible-playbook',
      '--inventory=/var/lib/meshrun/ws/job1/inv/hosts.ini',
      '--limit=-web*',
      '--tags=pkgs',
      '--tags=config',
      '--extra-vars={"version":"1.2","nested":{"a":[1,"two words; rm -rf /"]}}',
      '--check',
      '--',
      '/var/lib/meshrun/ws/job1/plays/site.yml',
    ]);
  });

  it('accepts an inline host list as inventory and omits empty extra vars', () => {
    const { argv } = buildPlaybookCommand({ playbook: 'a.yml', inventory: 'web1,web2,', extraVars: {} }, opts);
    expect(argv).toEqual(['ansible-playbook', '--inventory=web1,web2,', '--', '/var/lib/meshrun/ws/job1/a.yml']);
  });

  it('sets the environment for the callback and plain human output', () => {
    const { env } = buildPlaybookCommand({ playbook: 'site.yml' }, opts);
    expect(env).toMatchObject({
      ANSIBLE_CALLBACK_PLUGINS: '/plugins',
      ANSIBLE_CALLBACKS_ENABLED: 'meshrun_events',
      MESHRUN_EVENTS_FILE: '/var/lib/meshrun/ws/job1/run.events.jsonl',
      ANSIBLE_STDOUT_CALLBACK: 'default',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_RETRY_FILES_ENABLED: 'False',
      PYTHONUNBUFFERED: '1',
    });
    for (const v of Object.values(env)) expect(typeof v).toBe('string');
  });

  it('keeps an absolute events file as is', () => {
    const { env } = buildPlaybookCommand({ playbook: 's.yml' }, { ...opts, eventsFile: '/var/tmp/x.jsonl' });
    expect(env.MESHRUN_EVENTS_FILE).toBe('/var/tmp/x.jsonl');
  });

  it.each([
    ['absolute', '/etc/ansible/site.yml', /absolute/],
    ['parent escape', '../other/site.yml', /\.\./],
    ['nested escape', 'a/../../site.yml', /\.\./],
    ['backslash escape', 'a\\..\\site.yml', /\.\./],
    ['empty', '', /non-empty/],
  ])('rejects a %s playbook path naming run.playbook', (_name, playbook, reason) => {
    const build = () => buildPlaybookCommand({ playbook }, opts);
    expect(build).toThrow(InvalidInputError);
    expect(build).toThrow(/^run\.playbook: /);
    expect(build).toThrow(reason);
  });

  it('allows dots inside a name', () => {
    const { argv } = buildPlaybookCommand({ playbook: 'site..v2.yml' }, opts);
    expect(argv.at(-1)).toBe('/var/lib/meshrun/ws/job1/site..v2.yml');
  });

  it('rejects a bad inventory path, empty tags and unserialisable extra vars, naming the field', () => {
    expect(() => buildPlaybookCommand({ playbook: 's.yml', inventory: '/etc/ansible/hosts' }, opts)).toThrow(/^run\.inventory: /);
    expect(() => buildPlaybookCommand({ playbook: 's.yml', tags: ['ok', ''] }, opts)).toThrow(/^run\.tags\[1\]: /);
    expect(() => buildPlaybookCommand({ playbook: 's.yml', extraVars: { n: 1n } }, opts)).toThrow(/^run\.extraVars: /);
    expect(() => buildPlaybookCommand({ playbook: 's.yml' }, { ...opts, cwd: 'relative' })).toThrow(InvalidInputError);
  });
});

describe('callbackPluginDir', () => {
  it('finds agent/ansible from the TypeScript source', () => {
    const dir = callbackPluginDir();
    expect(dir).toBe(path.join(ROOT, 'agent', 'ansible'));
    expect(existsSync(path.join(dir, 'meshrun_events.py'))).toBe(true);
  });

  it('finds the source tree from a compiled dist/agent/ansible module too', () => {
    const compiled = pathToFileURL(path.join(ROOT, 'dist', 'agent', 'ansible', 'playbook-command.js')).href;
    expect(callbackPluginDir(compiled)).toBe(path.join(ROOT, 'agent', 'ansible'));
  });
});
