// Human output of `lab up` / `lab status`: endpoints, then tables.
import { formatTable } from '../src/cli/table.js';
import type { LabStatus } from './lab-status.js';
import type { LabStateFile } from './run-dir.js';

export function printStatus(state: LabStateFile, s: LabStatus): void {
  const out: string[] = [];
  out.push(`endpoints: ec2 ${state.endpoints.ec2}  autoscaling ${state.endpoints.autoscaling}  dynamodb ${state.endpoints.dynamodb}  events ${state.endpoints.events}`);
  out.push(`data plane: ${s.dataPlane.on ? `on (namespaces ${state.prefix}*)` : s.dataPlane.note ?? 'off'}`);
  out.push('');
  out.push(
    formatTable(
      ['instance', 'name', 'role', 'zone', 'state', 'private IPs', 'public IPs'],
      s.instances.map((i) => [
        i.instanceId,
        i.name,
        i.role,
        i.zone,
        i.state,
        i.interfaces.map((e) => `${e.privateIp}${e.deviceIndex > 0 ? `(eth${e.deviceIndex})` : ''}`).join(' '),
        i.interfaces.map((e) => e.publicIp).filter(Boolean).join(' '),
      ]),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      ['route table', 'name', 'subnets', 'default route', 'state'],
      s.routeTables.map((t) => [t.routeTableId, t.name, t.subnets.length, t.defaultRoute?.target, t.defaultRoute?.state]),
    ),
  );
  out.push('');
  out.push(
    formatTable(
      ['zone', 'floating ENI', 'EIP', 'attached to', 'status'],
      s.floatingEnis.map((f) => [f.zone, f.networkInterfaceId, f.publicIp, f.attachedTo, f.attachmentStatus]),
    ),
  );
  console.log(out.join('\n'));
}
