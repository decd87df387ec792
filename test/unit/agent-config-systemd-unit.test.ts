// packaging/natkeeper-agent.service: parsed as an INI-like unit file; the keys an operator
// relies on must be there. `systemd-analyze verify` checks the syntax when it is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const UNIT = join(import.meta.dirname, '../../packaging/natkeeper-agent.service');
const text = readFileSync(UNIT, 'utf8');

/** section → key → every value (keys may repeat). */
function parseUnit(src: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  src.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1} is not key=value in a section: ${raw}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  });
  return sections;
}

const unit = parseUnit(text);
const service = unit.get('Service')!;
const one = (key: string) => service.get(key)?.at(-1);

describe('packaging/natkeeper-agent.service', () => {
  it('has Unit, Service and Install sections', () => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
    expect(unit.get('Unit')!.get('After')).toEqual(['network-online.target']);
  });

  it('runs the agent with the standard config path and always restarts', () => {
    expect(one('ExecStart')).toBe('/usr/bin/natkeeper agent --config /etc/natkeeper/natkeeper.yaml');
    expect(one('Restart')).toBe('always');
    expect(one('RestartSec')).toMatch(/^\d+(ms|s)?$/);
    expect(unit.get('Unit')!.get('StartLimitIntervalSec')).toEqual(['0']);
  });

  it.each([
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ReadWritePaths', '/var/lib/natkeeper /run/netns'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['CapabilityBoundingSet', 'CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN'],
    ['AmbientCapabilities', 'CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN'],
    ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX AF_NETLINK'],
    ['SystemCallArchitectures', 'native'],
    ['ProtectKernelModules', 'yes'],
    ['ProtectControlGroups', 'yes'],
    ['RestrictNamespaces', 'net mnt'],
    ['RestrictSUIDSGID', 'yes'],
    ['LockPersonality', 'yes'],
  ])('hardening: %s=%s', (key, value) => {
    expect(one(key)).toBe(value);
  });

  it('leaves /proc/sys writable (the agent sets forwarding and conntrack sysctls)', () => {
    expect(one('ProtectKernelTunables')).toBe('no');
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('passes systemd-analyze verify (ExecStart swapped for /bin/true)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natkeeper-unit-'));
    const copy = join(dir, 'natkeeper-agent.service');
    // verify also checks that ExecStart's binary exists; natkeeper is not installed here.
    writeFileSync(copy, text.replace('ExecStart=/usr/bin/natkeeper', 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    // verify exits 0 on unknown keys and unparsable values, only warning: any line naming the file is a finding.
    const findings = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(copy));
    expect(findings).toEqual([]);
    expect(r.status).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
