// XML views shared by several EC2 resources. Element names are the ones the
// SDK's EC2 deserializers read (see the SDK's *Result$ schemas: tagSet/item/key…).

import { INSTANCE_STATE_CODES, type InstanceStateName, type Tag } from '../model.js';

export const tagSet = (tags: readonly Tag[]) => tags.map((t) => ({ key: t.key, value: t.value }));

export const instanceState = (name: InstanceStateName) => ({ code: INSTANCE_STATE_CODES[name], name });

/** What EC2 answers for actions whose only output is success: <return>true</return>. */
export const RETURN_TRUE = { return: true } as const;
