import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lab/emulator/errors.js';
import { FragmentCache } from '../../lab/emulator/query/fragment-cache.js';
import { errorXml, successDocument, successXml, type Dialect } from '../../lab/emulator/query/response.js';
import type { XmlValue } from '../../lab/emulator/query/types.js';
import { escapeXml, renderFields } from '../../lab/emulator/query/xml.js';

const EC2: Dialect = { xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/', listItem: 'item', wrapResult: false };
const ASG: Dialect = { xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/', listItem: 'member', wrapResult: true };
const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

const render = (v: { [k: string]: XmlValue }, item = 'item') => renderFields(v, item).toString('utf8');

describe('escapeXml', () => {
  it.each([
    ['plain rtb-0123', 'plain rtb-0123'],
    ['a & b < c > d', 'a &amp; b &lt; c &gt; d'],
    ['quotes " and \' stay', 'quotes " and \' stay'],
    ['tab\tand\nnewline', 'tab\tand\nnewline'],
    ['cr\r', 'cr&#13;'],
    ['nul\u0000bell\u0007', 'nul\ufffdbell\ufffd'],
    ['lone \ud800 high', 'lone \ufffd high'],
    ['lone \udc00 low', 'lone \ufffd low'],
    ['pair 😀 ok', 'pair 😀 ok'],
    ['\ufffe\uffff', '\ufffd\ufffd'],
    ['ünïcødé', 'ünïcødé'],
  ])('%j → %j', (input, want) => expect(escapeXml(input)).toBe(want));
});

describe('renderFields', () => {
  it('writes objects as elements in key order, lists wrapped in the list element', () => {
    const xml = render({ routeTableSet: [{ routeTableId: 'rtb-1', routeSet: [{ state: 'active' }, { state: 'blackhole' }] }], nextToken: 'T' });
    expect(xml).toBe(
      '<routeTableSet><item><routeTableId>rtb-1</routeTableId><routeSet><item><state>active</state></item><item><state>blackhole</state></item></routeSet></item></routeTableSet><nextToken>T</nextToken>',
    );
  });

  it('leaves out null/undefined, writes empty lists as empty elements, numbers and booleans as text', () => {
    expect(render({ a: undefined, b: null, c: [], d: 0, e: false, f: [undefined, 'x'] })).toBe('<c/><d>0</d><e>false</e><f><item>x</item></f>');
  });

  it('uses <member> for awsQuery lists', () => {
    expect(render({ Groups: [{ Name: 'g' }] }, 'member')).toBe('<Groups><member><Name>g</Name></member></Groups>');
  });

  it('escapes text values', () => {
    expect(render({ value: '<a&b>' })).toBe('<value>&lt;a&amp;b&gt;</value>');
  });
});

describe('successXml', () => {
  it('EC2: fields directly under <XResponse> after <requestId>', () => {
    const xml = successXml(EC2, 'CreateRoute', 'req-1', { return: true });
    expect(xml).toBe(`${DECL}<CreateRouteResponse xmlns="${EC2.xmlns}"><requestId>req-1</requestId><return>true</return></CreateRouteResponse>`);
  });

  it('awsQuery: fields in <XResult>, then <ResponseMetadata><RequestId>', () => {
    const xml = successXml(ASG, 'DescribeAutoScalingGroups', 'req-2', { AutoScalingGroups: [{ AutoScalingGroupName: 'g' }] });
    expect(xml).toBe(
      `${DECL}<DescribeAutoScalingGroupsResponse xmlns="${ASG.xmlns}"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName></member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`,
    );
  });

  it('awsQuery actions without output answer with the metadata alone', () => {
    const xml = successXml(ASG, 'SetInstanceHealth', 'req-3', undefined);
    expect(xml).toBe(`${DECL}<SetInstanceHealthResponse xmlns="${ASG.xmlns}"><ResponseMetadata><RequestId>req-3</RequestId></ResponseMetadata></SetInstanceHealthResponse>`);
  });

  it('successDocument gives the same document as byte chunks', () => {
    const doc = Buffer.concat(successDocument(EC2, 'CreateRoute', 'r', { return: true }));
    expect(doc.toString()).toBe(successXml(EC2, 'CreateRoute', 'r', { return: true }));
  });

  it('refuses a handler result that is not an object', () => {
    expect(() => successXml(EC2, 'X', 'r', 'text')).toThrow(TypeError);
    expect(() => successXml(EC2, 'X', 'r', [1])).toThrow(TypeError);
  });
});

describe('errorXml', () => {
  it("EC2's <Response><Errors><Error> document with RequestID", () => {
    const xml = errorXml(EC2, 'req-4', new ApiError('InvalidRouteTableID.NotFound', "The routeTable ID 'rtb-1' does not exist"));
    expect(xml).toBe(
      `${DECL}<Response><Errors><Error><Code>InvalidRouteTableID.NotFound</Code><Message>The routeTable ID 'rtb-1' does not exist</Message></Error></Errors><RequestID>req-4</RequestID></Response>`,
    );
  });

  it('awsQuery <ErrorResponse> with Sender for 4xx, Receiver for 5xx', () => {
    expect(errorXml(ASG, 'r', new ApiError('ValidationError', 'bad'))).toBe(
      `${DECL}<ErrorResponse xmlns="${ASG.xmlns}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
    );
    expect(errorXml(ASG, 'r', new ApiError('InternalFailure', 'boom', 500))).toContain('<Type>Receiver</Type>');
  });

  it('escapes messages that echo user input', () => {
    expect(errorXml(EC2, 'r', new ApiError('InvalidAction', 'The action <x>&\u0000 is not valid'))).toContain('<Message>The action &lt;x&gt;&amp;\ufffd is not valid</Message>');
  });
});

describe('FragmentCache', () => {
  it('reuses a record fragment until the record object or its live values change', () => {
    const cache = new FragmentCache<{ id: string }>('item');
    let builds = 0;
    const view = (r: { id: string }, state: string) => () => {
      builds++;
      return { id: r.id, state };
    };
    const rec = { id: 'rtb-1' };
    const a = cache.get(rec, ['active', 'i-1'], view(rec, 'active'));
    expect(cache.get(rec, ['active', 'i-1'], view(rec, 'active'))).toBe(a);
    expect(builds).toBe(1);
    expect(a.bytes.toString()).toBe('<id>rtb-1</id><state>active</state>');
    const b = cache.get(rec, ['blackhole', 'i-1'], view(rec, 'blackhole'));
    expect(b.bytes.toString()).toBe('<id>rtb-1</id><state>blackhole</state>');
    cache.get(rec, ['blackhole', undefined], view(rec, 'blackhole'));
    expect(builds).toBe(3);
    const replaced = { id: 'rtb-1' }; // the store's copy-on-write: a changed record is a new object
    cache.get(replaced, ['blackhole', undefined], view(replaced, 'blackhole'));
    expect(builds).toBe(4);
  });

  it('a cached fragment renders like the same fields written directly', () => {
    const cache = new FragmentCache<object>('item');
    const fields = { routeTableId: 'rtb-1', tagSet: [{ key: 'a', value: '<b>' }] };
    const fragment = cache.get({}, [], () => fields);
    expect(render({ routeTableSet: [fragment, fragment] })).toBe(render({ routeTableSet: [fields, fields] }));
  });
});
