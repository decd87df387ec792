// The tags natkeeper finds its resources by and the cluster tag the IAM policy requires on
// everything it may change: one definition (src/domain/tags.ts, SDK-free, so synth does not
// load the EC2 client), here in the shape the construct's public API has always had.
import { CLUSTER_TAG_KEY, TAGS } from '../../src/domain/tags.js';

export const NATKEEPER_TAGS = {
  ...TAGS,
  /** On everything the construct creates or manages: the cluster name. */
  cluster: CLUSTER_TAG_KEY,
} as const;
