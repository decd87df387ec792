// Reading synthesized CloudFormation values in tests: Fn::Join strings rendered with
// placeholders for references, so JSON built by Stack.toJsonString can be parsed and
// checked against the agent's own config schema.
import type { Template } from 'aws-cdk-lib/assertions';

/** A value read from a synthesized template: untyped JSON, checked by the assertions. */
export type Cfn = ReturnType<typeof JSON.parse>;

export type Resolver = (ref: unknown) => string;

/** Renders a string or Fn::Join of strings and references; references go through `resolve`. */
export function renderJoin(value: unknown, resolve: Resolver): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => (typeof part === 'string' ? part : resolve(part))).join(join[0]);
  return resolve(value);
}

/** A resolver that maps each reference to a syntactically valid stand-in by the logical id's kind. */
export function placeholderResolver(stand: Record<string, string>): Resolver {
  return (ref) => {
    const id = (ref as { Ref?: string }).Ref ?? (ref as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    if (id === undefined) throw new Error(`unexpected intrinsic ${JSON.stringify(ref)}`);
    const hit = Object.entries(stand).find(([part]) => id.includes(part));
    if (!hit) throw new Error(`no placeholder for ${id}`);
    return hit[1];
  };
}

/** The one resource of a type whose logical id contains `part`. */
export function resourceLike(template: Template, type: string, part: string): { id: string; props: Record<string, Cfn>; raw: Record<string, Cfn> } {
  const all = Object.entries(template.findResources(type)).filter(([id]) => id.includes(part));
  if (all.length !== 1) throw new Error(`expected one ${type} with "${part}" in its id, found ${all.map(([id]) => id).join(', ') || 'none'}`);
  const [id, raw] = all[0]!;
  return { id, props: raw.Properties ?? {}, raw };
}

/** The logical ids of a type, optionally filtered by properties. */
export function logicalIds(template: Template, type: string, props?: Record<string, unknown>): string[] {
  return Object.keys(template.findResources(type, props ? { Properties: props } : undefined));
}
