// What hits zone a's carrier (the NAT its floating ENI is on) in each scenario of the
// Lambda bench, and what ends the carrier afterwards. Every trigger goes through the lab's
// APIs as it would in AWS, so the lab publishes the events AWS would, and only the Lambda
// (through the lab's event bus) reacts:
//   scale-in  TerminateInstanceInAutoScalingGroup → Terminating:Wait on the terminate hook,
//             "EC2 Instance-terminate Lifecycle Action"; the Lambda moves the ENI and
//             completes the action, the group terminates the instance
//   stop      StopInstances → state changes stopping/stopped; the lab's group takes the
//             stopped instance out of service at once (AWS: at its next EC2 health check),
//             so a terminate lifecycle action follows too
//   spot      the lab's Spot interruption warning (chaos spot-interrupt) → planned handover;
//             once egress has moved, the bench terminates the instance (the interruption,
//             brought forward from AWS's 2 minutes) inside the measured window
import { TerminateInstanceInAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { StopInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { RunningLab } from '../../../lab/lab.js';

export const SCENARIOS = ['scale-in', 'stop', 'spot'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface TriggerClients {
  lab: RunningLab;
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
}

export async function trigger(scenario: ScenarioName, c: TriggerClients, victim: string): Promise<void> {
  switch (scenario) {
    case 'scale-in':
      // Keeps the group's size: the group replaces the instance once it is gone.
      await c.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: victim, ShouldDecrementDesiredCapacity: false }));
      return;
    case 'stop':
      await c.ec2.send(new StopInstancesCommand({ InstanceIds: [victim] }));
      return;
    case 'spot': {
      const r = await c.lab.chaos.run({ verb: 'spot-interrupt', instance: victim, action: 'terminate' });
      if (r.outcome !== 'done') throw new Error(`chaos spot-interrupt ${victim} refused: ${r.detail ?? ''}`);
      return;
    }
  }
}

/** After egress moved: the spot scenario's interruption happens now (the others end the instance by themselves). */
export function afterMove(scenario: ScenarioName, lab: RunningLab, victim: string): boolean {
  if (scenario !== 'spot') return false;
  const st = lab.store.instances.get(victim)?.state;
  if (st === 'running' || st === 'pending') lab.store.terminateInstance(victim, 'Lambda bench: the Spot interruption, brought forward');
  return true;
}
