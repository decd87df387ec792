// The tag keys natkeeper finds and guards its resources by. Pure (no SDK): the controller
// filters its Describe calls on them (src/controller/observe.ts), the IAM policy conditions
// every change on the cluster tag (src/iam/policy.ts), and the CDK construct and the lab
// put them on what they create (infra/cdk/tags.ts).

/** The tags the controller observes the VPC by. */
export const TAGS = {
  /** On NAT instances: "nat". */
  role: 'natkeeper:role',
  /** On NAT instances and managed route tables: the zone (AZ name). */
  zone: 'natkeeper:zone',
  /** On floating ENIs: the zone. */
  floating: 'natkeeper:floating',
} as const;

/** The tag every resource the CDK construct creates carries, valued the cluster name (docs/deploy.md). */
export const CLUSTER_TAG_KEY = 'natkeeper:cluster';
