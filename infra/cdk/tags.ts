// The tags natkeeper finds its resources by (src/controller/observe.ts reads the first
// three; test/cdk holds the two lists equal) and the cluster tag the IAM policy requires
// on everything it may change (src/iam/policy.ts).
import { CLUSTER_TAG_KEY } from '../../src/iam/policy.js';

export const NATKEEPER_TAGS = {
  /** On NAT instances: "nat". */
  role: 'natkeeper:role',
  /** On NAT instances and managed route tables: the zone (AZ name). */
  zone: 'natkeeper:zone',
  /** On floating ENIs: the zone. */
  floating: 'natkeeper:floating',
  /** On everything the construct creates or manages: the cluster name. */
  cluster: CLUSTER_TAG_KEY,
} as const;
