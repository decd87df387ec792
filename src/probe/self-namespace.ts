// The namespace the `self` vantage probes from. Traffic a NAT node sends itself never
// crosses its forwarding path or its masquerade rule, so probing from the node's own
// sockets would pass on a "hung NAT" (forwarding off, masquerade gone). Instead the
// agent keeps a small network namespace behind a veth pair, like one more private
// host: its probes enter the node, are forwarded, masqueraded on the egress interface
// and leave with the node's address — the NAT function itself is what they test.
//
//   [probe ns] nkself1 169.254.99.2/30 ──veth── nkself0 169.254.99.1/30 [node] ─► forward ─► masquerade ─► egress
//
// Link-local addresses: never routed beyond the node; no VPC address is used.
import { describeFailure, type Runner } from '../dataplane/runner.js';

export const SELF_NS_DEFAULT = 'natkeeper-self';
export const SELF_HOST_IF = 'nkself0';
export const SELF_NS_IF = 'nkself1';
export const SELF_HOST_ADDR = '169.254.99.1';
export const SELF_NS_ADDR = '169.254.99.2';

const NS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export function checkNamespaceName(name: string): void {
  if (!NS_NAME.test(name)) throw new Error(`probe.selfNamespace: expected 1-64 of A-Z a-z 0-9 _ . -, not starting with . or -, got ${JSON.stringify(name)}`);
}

/** Creates (or repairs) the namespace and its veth pair; idempotent. */
export async function ensureSelfNamespace(runner: Runner, ns: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  checkNamespaceName(ns);
  const list = await runner(['ip', 'netns', 'list']);
  let exists = list.code === 0 && list.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
  // A name left by an earlier agent whose mount namespace is gone (systemd and `ip netns
  // exec` give the agent its own): the file is there, the namespace is not. Start over.
  if (exists && (await runner(['ip', '-n', ns, 'link', 'show', 'lo'])).code !== 0) {
    await runner(['ip', 'netns', 'del', ns]);
    await runner(['rm', '-f', `/run/netns/${ns}`]);
    exists = false;
  }
  const steps: string[][] = [];
  if (!exists) {
    // A veth left from an earlier namespace would point into it: remove it (absent: harmless).
    await runner(['ip', 'link', 'del', SELF_HOST_IF]);
    steps.push(['ip', 'netns', 'add', ns]);
  }
  const link = exists ? await runner(['ip', 'link', 'show', SELF_HOST_IF]) : { code: 1 };
  if (link.code !== 0) steps.push(['ip', 'link', 'add', SELF_HOST_IF, 'type', 'veth', 'peer', 'name', SELF_NS_IF, 'netns', ns]);
  steps.push(
    ['ip', 'addr', 'replace', `${SELF_HOST_ADDR}/30`, 'dev', SELF_HOST_IF],
    ['ip', 'link', 'set', SELF_HOST_IF, 'up'],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', ns, 'addr', 'replace', `${SELF_NS_ADDR}/30`, 'dev', SELF_NS_IF],
    ['ip', '-n', ns, 'link', 'set', SELF_NS_IF, 'up'],
    ['ip', '-n', ns, 'route', 'replace', 'default', 'via', SELF_HOST_ADDR],
  );
  for (const argv of steps) {
    const r = await runner(argv);
    if (r.code !== 0) return { ok: false, reason: describeFailure(argv, r) };
  }
  return { ok: true };
}

/** Removes the namespace (its veth pair goes with it). */
export async function removeSelfNamespace(runner: Runner, ns: string): Promise<void> {
  checkNamespaceName(ns);
  await runner(['ip', 'netns', 'del', ns]);
  await runner(['ip', 'link', 'del', SELF_HOST_IF]);
}
