// The lab internet's echo server: one process (run inside the internet namespace)
// serving every echo target over UDP and TCP. Each answer says which source
// address and port the server saw, so a test can tell which EIP its traffic left by:
//
//   {"seen":"203.0.113.130","port":40000,"target":"198.51.100.10","proto":"udp","echo":"…"}
//
// UDP: one answer per datagram, echoing its payload (up to 512 bytes).
// TCP: one answer line on connect, then one per line received.
//
// Usage: node dist/lab/netns/echo-server.js --port 7 --targets 198.51.100.10,198.51.100.11

import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { inHostNetns } from './host-guard.js';

export interface EchoReply {
  seen: string;
  port: number;
  target: string;
  proto: 'udp' | 'tcp';
  echo?: string;
}

const ECHO_MAX = 512;
const TCP_IDLE_MS = 120_000;

function reply(seen: string | undefined, port: number | undefined, target: string, proto: 'udp' | 'tcp', echo?: string): string {
  const r: EchoReply = { seen: (seen ?? '').replace(/^::ffff:/, ''), port: port ?? 0, target, proto };
  if (echo !== undefined) r.echo = echo.slice(0, ECHO_MAX);
  return JSON.stringify(r);
}

async function serveUdp(target: string, port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const text = reply(rinfo.address, rinfo.port, target, 'udp', msg.toString('utf8', 0, Math.min(msg.length, ECHO_MAX)));
    sock.send(text, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: target, port }, () => {
      sock.off('error', reject);
      sock.on('error', (e) => process.stderr.write(`echo-server: udp ${target}: ${String(e)}\n`));
      resolve();
    });
  });
  return sock;
}

async function serveTcp(target: string, port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.write(`${reply(socket.remoteAddress, socket.remotePort, target, 'tcp')}\n`);
    let buf = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        socket.write(`${reply(socket.remoteAddress, socket.remotePort, target, 'tcp', line)}\n`);
      }
      if (buf.length > 64 * 1024) socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: target, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function main(): Promise<void> {
  if (inHostNetns()) {
    process.stderr.write(`echo-server: refusing to run outside a named network namespace (this would send lab traffic to the real network); run it inside a lab namespace: ip netns exec <ns> …\n`);
    process.exit(2);
  }
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '7' }, targets: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port);
  const targets = (values.targets ?? '').split(',').filter(Boolean);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || targets.length === 0) {
    process.stderr.write('usage: echo-server --port <1-65535> --targets <ip>[,<ip>...]\n');
    process.exit(2);
  }
  const closers: (() => void)[] = [];
  for (const t of targets) {
    const u = await serveUdp(t, port);
    const s = await serveTcp(t, port);
    closers.push(() => u.close(), () => s.close());
  }
  const stop = () => {
    for (const c of closers) c();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ event: 'ready', port, targets })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`echo-server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
