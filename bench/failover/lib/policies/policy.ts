// What the bench asks of a decision policy: natkeeper's agents, or a baseline decision
// loop run by the harness. The bench injects faults and measures; the policy decides.

export const POLICIES = ['natkeeper', 'ping-pair', 'scheduled-check'] as const;
export type PolicyName = (typeof POLICIES)[number];

export const SCENARIOS = ['no-fault', 'target-outage', 'hung', 'kill', 'planned'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Policy {
  readonly name: PolicyName;
  /** Its parameters, for the report. */
  readonly parameters: string;
  /**
   * About how long one of its decision cycles takes. A fault lands at a random point of
   * it: injected right after ready() it would always hit the same phase (for a baseline,
   * just after a healthy round: its worst case).
   */
  readonly cycleMs: number;
  /** Why it cannot take part in a scenario (the report shows n/a and this), if so. */
  unsupported(scenario: ScenarioName): string | undefined;
  /**
   * Catches up with the lab after a restore (an agent on a replacement NAT, the pair a
   * baseline watches) and waits, bounded, until it watches a healthy zone a.
   */
  ready(): Promise<void>;
  /** What it said lately (e.g. its decisions), kept with a run that did not recover. */
  diagnose?(): string;
  /** Stops everything it started. */
  stop(): Promise<void>;
}
