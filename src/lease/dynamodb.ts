// DynamoDB LeaseStore: one table, partition key `pk` (the lease name) and sort key `sk`.
//
//   sk = "lease"           holder, fencingToken (N), expiresAt (N, epoch ms), ttlMs (N), logSeq (N)
//   sk = "log#<seq, 15 digits>"   one decision: seq, token, holder, action, detail (JSON), at
//
// Every change is a conditional UpdateItem on the lease item: the condition names the
// holder and compares `expiresAt` with the caller's clock explicitly (DynamoDB's TTL
// deletes items "within a few days" and is never relied on). The fencing token is an
// atomic counter (ADD fencingToken 1) bumped by the same write that changes the holder.
//
// The decision log: without transactions (dynalite has none), an append is two writes.
// First a conditional UpdateItem on the lease item, `fencingToken = :token`, that also
// reserves the next sequence number (ADD logSeq 1): that is the fence, atomic with the
// token check. Then a PutItem of the entry under that sequence number. History is
// ordered by sequence number, i.e. by the order the fence accepted appends, so an entry
// whose put lands late still sits where the fence let it in. A crash between the two
// writes leaves a gap in the numbering, never a stale entry.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Clock } from '../domain/clock.js';
import type {
  AcquireResult,
  DecisionEntry,
  DecisionRecord,
  JsonValue,
  LeaseState,
  LeaseStore,
  RenewResult,
} from '../domain/ports/lease-store.js';
import { InvalidLeaseArgumentError, LeaseStoreProtocolError, StaleTokenError } from './errors.js';
import { checkEntry, checkHolder, checkLimit, checkName, checkToken, checkTtl } from './validate.js';

export interface DynamoDbLeaseStoreOptions {
  client: DynamoDBClient;
  /** Table name (created by ensureTable() in tests and labs; by the CDK construct in production). */
  tableName: string;
  /** The lease's name: one table can hold several leases. Default "natkeeper". */
  leaseName?: string;
  clock: Clock;
}

const LEASE_SK = 'lease';
const LOG_PREFIX = 'log#';
const SEQ_DIGITS = 15;

type Item = Record<string, AttributeValue>;

export class DynamoDbLeaseStore implements LeaseStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly pk: string;
  private readonly clock: Clock;

  constructor(opts: DynamoDbLeaseStoreOptions) {
    this.client = opts.client;
    this.table = checkTableName(opts.tableName);
    this.pk = checkName(opts.leaseName ?? 'natkeeper', 'leaseName');
    this.clock = opts.clock;
  }

  /** Create the table (pk HASH, sk RANGE, on-demand) unless it exists; wait until ACTIVE. */
  async ensureTable(timeoutMs = 30_000): Promise<void> {
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.table,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ResourceInUseException')) throw err;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const out = await this.client.send(new DescribeTableCommand({ TableName: this.table }));
        if (out.Table?.TableStatus === 'ACTIVE') return;
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      if (Date.now() > deadline) throw new Error(`table ${this.table} did not become ACTIVE within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async acquire(holder: string, ttlMs: number): Promise<AcquireResult> {
    checkHolder(holder);
    checkTtl(ttlMs);
    const now = this.clock.now();
    const expiresAt = now + ttlMs;
    let cur = await this.readLease();
    // A lost race (the lease was released or expired between our read and our write)
    // is retried a few times; a live lease held by someone else ends it at once.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (cur?.holder !== undefined && cur.holder !== holder && cur.expiresAt > now) {
        return { held: false, holder: cur.holder, token: cur.token, expiresAt: cur.expiresAt };
      }
      const ours = cur?.holder === holder && cur.expiresAt > now;
      try {
        const out = ours
          ? // Extend our own live lease: same token.
            await this.update('SET expiresAt = :exp, ttlMs = :ttl', 'holder = :h AND expiresAt > :now', {
              ':h': s(holder),
              ':now': n(now),
              ':exp': n(expiresAt),
              ':ttl': n(ttlMs),
            })
          : // Take a free or expired lease: new holder and the next token, in one conditional write.
            await this.update(
              'SET holder = :h, expiresAt = :exp, ttlMs = :ttl ADD fencingToken :one',
              'attribute_not_exists(pk) OR attribute_not_exists(holder) OR expiresAt <= :now',
              { ':h': s(holder), ':now': n(now), ':exp': n(expiresAt), ':ttl': n(ttlMs), ':one': n(1) },
            );
        return { held: true, holder, token: num(out, 'fencingToken'), expiresAt };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      cur = await this.readLease();
    }
    return { held: false, holder: cur?.holder ?? '', token: cur?.token ?? 0, expiresAt: cur?.expiresAt ?? 0 };
  }

  async renew(holder: string, token: number): Promise<RenewResult> {
    checkHolder(holder);
    checkToken(token);
    const now = this.clock.now();
    try {
      const out = await this.update(
        'SET expiresAt = :now + ttlMs',
        'holder = :h AND fencingToken = :t AND expiresAt > :now',
        { ':h': s(holder), ':t': n(token), ':now': n(now) },
      );
      return { held: true, holder, token, expiresAt: num(out, 'expiresAt') };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const cur = await this.readLease();
    const live = cur?.holder !== undefined && cur.expiresAt > now ? liveState(cur) : null;
    if (cur?.holder === undefined) return { held: false, lost: true, reason: 'released', current: null };
    if (cur.holder !== holder || cur.token !== token) return { held: false, lost: true, reason: 'taken', current: live };
    return { held: false, lost: true, reason: 'expired', current: null };
  }

  async release(holder: string, token: number): Promise<boolean> {
    checkHolder(holder);
    checkToken(token);
    try {
      await this.update('REMOVE holder SET expiresAt = :zero', 'holder = :h AND fencingToken = :t', {
        ':h': s(holder),
        ':t': n(token),
        ':zero': n(0),
      });
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async current(): Promise<LeaseState | null> {
    const now = this.clock.now();
    const cur = await this.readLease();
    return cur?.holder !== undefined && cur.expiresAt > now ? liveState(cur) : null;
  }

  async currentToken(): Promise<number> {
    return (await this.readLease())?.token ?? 0;
  }

  async append(entry: DecisionEntry, token: number): Promise<DecisionRecord> {
    const e = checkEntry(entry);
    checkToken(token);
    const at = this.clock.now();
    let seq: number;
    try {
      const out = await this.update('ADD logSeq :one', 'fencingToken = :t', { ':t': n(token), ':one': n(1) });
      seq = num(out, 'logSeq');
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      throw new StaleTokenError(token, (await this.readLease())?.token ?? 0);
    }
    const record: DecisionRecord = { ...e, seq, token, at };
    const item: Item = {
      pk: s(this.pk),
      sk: s(LOG_PREFIX + String(seq).padStart(SEQ_DIGITS, '0')),
      seq: n(seq),
      token: n(token),
      at: n(at),
      holder: s(e.holder),
      action: s(e.action),
    };
    if (e.detail !== undefined) item['detail'] = s(JSON.stringify(e.detail));
    await this.client.send(
      new PutItemCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }),
    );
    return record;
  }

  async history(limit: number): Promise<DecisionRecord[]> {
    checkLimit(limit);
    const records: DecisionRecord[] = [];
    let startKey: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :log)',
          ExpressionAttributeValues: { ':pk': s(this.pk), ':log': s(LOG_PREFIX) },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: limit - records.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) records.push(toRecord(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined && records.length < limit);
    return records;
  }

  private async readLease(): Promise<{ holder: string | undefined; token: number; expiresAt: number } | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.leaseKey(), ConsistentRead: true }),
    );
    const item = out.Item;
    if (item === undefined) return undefined;
    return {
      holder: item['holder']?.S,
      token: item['fencingToken'] === undefined ? 0 : num(item, 'fencingToken'),
      expiresAt: item['expiresAt'] === undefined ? 0 : num(item, 'expiresAt'),
    };
  }

  private async update(update: string, condition: string, values: Item): Promise<Item> {
    const out = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.leaseKey(),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes ?? {};
  }

  private leaseKey(): Item {
    return { pk: s(this.pk), sk: s(LEASE_SK) };
  }
}

/** DynamoDB's own rule: 3-255 characters of [A-Za-z0-9_.-]. */
function checkTableName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(name)) {
    throw new InvalidLeaseArgumentError('tableName', 'a DynamoDB table name (3-255 characters of A-Z a-z 0-9 _ . -)', name);
  }
  return name;
}

function liveState(cur: { holder: string | undefined; token: number; expiresAt: number }): LeaseState {
  return { holder: cur.holder as string, token: cur.token, expiresAt: cur.expiresAt };
}

function s(value: string): AttributeValue {
  return { S: value };
}

function n(value: number): AttributeValue {
  return { N: String(value) };
}

function num(item: Item, name: string): number {
  const raw = item[name]?.N;
  const value = raw === undefined ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new LeaseStoreProtocolError(`lease item attribute ${name} is not a number`);
  return value;
}

function toRecord(item: Item): DecisionRecord {
  const detailRaw = item['detail']?.S;
  const record: DecisionRecord = {
    seq: num(item, 'seq'),
    token: num(item, 'token'),
    at: num(item, 'at'),
    holder: item['holder']?.S ?? '',
    action: item['action']?.S ?? '',
  };
  if (detailRaw === undefined) return record;
  return { ...record, detail: JSON.parse(detailRaw) as { [key: string]: JsonValue } };
}
