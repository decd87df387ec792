// The three alarms on the Lambda's EMF metrics (namespace per cluster, no dimensions):
// the names and thresholds are the contract with src/lambda (docs/deploy.md).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface NatKeeperAlarmsProps {
  readonly namespace: string;
  readonly topic: sns.ITopic;
  readonly clusterName: string;
}

export class NatKeeperAlarms extends Construct {
  /** Nobody held the lease for 3 minutes (or the Lambda stopped reporting): no controller runs. */
  readonly noLeaseHolder: cloudwatch.Alarm;
  /** A managed zone had no working default route for 2 minutes. */
  readonly zoneWithoutEgress: cloudwatch.Alarm;
  /** 3 or more failovers within 15 minutes: something keeps failing. */
  readonly repeatedFailovers: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NatKeeperAlarmsProps) {
    super(scope, id);
    const metric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({ namespace: props.namespace, metricName, statistic, period });
    // One action object serves every alarm, on entering ALARM and on returning to OK.
    const toTopic = new actions.SnsAction(props.topic);
    const notify = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(toTopic);
      alarm.addOkAction(toTopic);
      return alarm;
    };
    this.noLeaseHolder = notify(
      new cloudwatch.Alarm(this, 'NoLeaseHolder', {
        alarmDescription: `natkeeper ${props.clusterName}: no lease holder for 3 minutes, so no controller moves egress on failure`,
        metric: metric('LeaseHeld', cloudwatch.Stats.MAXIMUM, Duration.minutes(1)),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        // The Lambda reports every minute: silence means it is not running either.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
    this.zoneWithoutEgress = notify(
      new cloudwatch.Alarm(this, 'ZoneWithoutEgress', {
        alarmDescription: `natkeeper ${props.clusterName}: a zone's default route is missing, a blackhole, or targets a NAT that is not running`,
        metric: metric('ZonesWithoutEgress', cloudwatch.Stats.MAXIMUM, Duration.minutes(1)),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        // Missing data is the no-lease-holder alarm's case.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.repeatedFailovers = notify(
      new cloudwatch.Alarm(this, 'RepeatedFailovers', {
        alarmDescription: `natkeeper ${props.clusterName}: 3 or more failovers within 15 minutes`,
        metric: metric('Failovers', cloudwatch.Stats.SUM, Duration.minutes(15)),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold: 3,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
