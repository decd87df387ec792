// Probe targets: what to probe and how, parsed from the config's target strings.
//   tcp://198.51.100.10:443     TCP connect
//   http://198.51.100.10/        HTTP HEAD (https:// for HTTPS)
//   icmp://198.51.100.10         ICMP echo (one `ping`)

export type ProbeTarget =
  | { kind: 'tcp'; name: string; host: string; port: number }
  | { kind: 'http'; name: string; url: string }
  | { kind: 'icmp'; name: string; host: string };

export class TargetError extends Error {
  override name = 'TargetError';
}

/** Parses a target string; throws a TargetError naming what was expected. */
export function parseTarget(spec: string): ProbeTarget {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new TargetError(`target "${spec}": expected tcp://host:port, http(s)://host[:port]/path or icmp://host`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new TargetError(`target "${spec}": expected a host`);
  switch (url.protocol) {
    case 'tcp:': {
      const port = Number(url.port);
      if (!url.port || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new TargetError(`target "${spec}": expected a port 1-65535 (tcp://host:port)`);
      }
      return { kind: 'tcp', name: spec, host, port };
    }
    case 'http:':
    case 'https:':
      return { kind: 'http', name: spec, url: url.toString() };
    case 'icmp:':
      if (url.port) throw new TargetError(`target "${spec}": icmp targets take no port`);
      return { kind: 'icmp', name: spec, host };
    default:
      throw new TargetError(`target "${spec}": unknown scheme "${url.protocol}", expected tcp:, http:, https: or icmp:`);
  }
}
