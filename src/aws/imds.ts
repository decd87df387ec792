// A small IMDSv2 client: PUT a session token, then GET with the token header.
// The base URL is configurable (the lab serves IMDS on the same address inside
// each instance namespace); fetch is injectable for tests.

export const DEFAULT_IMDS_BASE_URL = 'http://169.254.169.254';
const TOKEN_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'X-aws-ec2-metadata-token';

export interface ImdsOptions {
  /** Default http://169.254.169.254. */
  baseUrl?: string;
  /** Token lifetime asked for, seconds (default 21600, IMDS's maximum). */
  tokenTtlSec?: number;
  /** Per-request timeout (default 2000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Clock for token expiry (default Date.now). */
  now?: () => number;
}

export class ImdsError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ImdsError';
  }
}

export class ImdsClient {
  private readonly baseUrl: string;
  private readonly ttlSec: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(opts: ImdsOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? DEFAULT_IMDS_BASE_URL).replace(/\/+$/, '');
    this.ttlSec = opts.tokenTtlSec ?? 21_600;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.fetchFn = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  private async request(method: 'GET' | 'PUT', path: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, { method, headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new ImdsError(`IMDS ${method} ${this.baseUrl}${path} failed: ${(e as Error).message}`);
    }
  }

  private async sessionToken(): Promise<string> {
    // Renew a minute early so a token never expires between PUT and GET.
    if (this.token && this.token.expiresAt - 60_000 > this.now()) return this.token.value;
    const res = await this.request('PUT', '/latest/api/token', { [TOKEN_TTL_HEADER]: String(this.ttlSec) });
    if (!res.ok) throw new ImdsError(`IMDS token request answered ${res.status}`, res.status);
    const value = (await res.text()).trim();
    this.token = { value, expiresAt: this.now() + this.ttlSec * 1000 };
    return value;
  }

  /** GET /latest/meta-data/<path>; undefined on 404. */
  async get(path: string): Promise<string | undefined> {
    const p = `/latest/meta-data/${path.replace(/^\/+/, '')}`;
    let res = await this.request('GET', p, { [TOKEN_HEADER]: await this.sessionToken() });
    if (res.status === 401) {
      // The token expired or IMDS restarted: one fresh token, one retry.
      this.token = undefined;
      res = await this.request('GET', p, { [TOKEN_HEADER]: await this.sessionToken() });
    }
    if (res.status === 404) return undefined;
    if (!res.ok) throw new ImdsError(`IMDS GET ${p} answered ${res.status}`, res.status);
    return res.text();
  }

  async require(path: string): Promise<string> {
    const v = await this.get(path);
    if (v === undefined) throw new ImdsError(`IMDS has no ${path}`, 404);
    return v;
  }

  /** The instance's attached ENIs as IMDS lists them: device number, MAC and VPC CIDRs. */
  async networkInterfaces(): Promise<ImdsInterface[]> {
    const list = await this.require('network/interfaces/macs/');
    const macs = list
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .filter(Boolean);
    const out: ImdsInterface[] = [];
    for (const mac of macs) {
      const device = Number((await this.require(`network/interfaces/macs/${mac}/device-number`)).trim());
      const cidrs = await this.get(`network/interfaces/macs/${mac}/vpc-ipv4-cidr-blocks`);
      out.push({
        mac: mac.toLowerCase(),
        deviceNumber: device,
        vpcCidrs: (cidrs ?? '')
          .split('\n')
          .map((c) => c.trim())
          .filter(Boolean),
      });
    }
    return out.sort((a, b) => a.deviceNumber - b.deviceNumber);
  }
}

export interface ImdsInterface {
  mac: string;
  deviceNumber: number;
  vpcCidrs: string[];
}
