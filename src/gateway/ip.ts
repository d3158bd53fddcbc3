/** `::ffff:10.0.0.1` → `10.0.0.1`: node reports IPv4 clients of a dual-stack socket mapped. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
