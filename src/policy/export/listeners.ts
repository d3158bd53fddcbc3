/**
 * What both firewall exports need from the config: listeners, and per listener the source
 * networks its policy could ever allow (the coarse outer fence; the gateway decides the rest).
 */
import net from 'node:net';
import { PortwardenError } from '../../errors.js';
import type { CompiledPolicy } from '../evaluate.js';
import type { Cidr } from '../ip.js';

/** A listener as the exports see it. */
export interface ExportListener {
  readonly name: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly target: { readonly host: string; readonly port: number };
  readonly policy?: string;
}

/** `any` when some allow path has no source condition; else the union of allow CIDRs. */
export type AllowedSources = 'any' | readonly Cidr[];

/**
 * Sources a listener's policy may allow: every source for an audit-only listener, a
 * default-allow policy, or an allow/alert rule without `sources`; otherwise the union of
 * the allow/alert rules' CIDRs (possibly empty: nothing may connect). Deny rules are left
 * to the gateway: the fence only over-approximates.
 */
export function allowedSources(
  listener: ExportListener,
  policies: ReadonlyMap<string, CompiledPolicy>,
): AllowedSources {
  if (listener.policy === undefined) return 'any';
  const policy = policies.get(listener.policy);
  if (policy === undefined) {
    throw new PortwardenError('PW_ERR_POLICY', {
      detail: `listener ${listener.name} names policy ${listener.policy}, which is not defined`,
    });
  }
  if (policy.defaultVerdict === 'allow') return 'any';
  const seen = new Set<string>();
  const out: Cidr[] = [];
  for (const rule of policy.rules) {
    if (rule.kind === 'deny') continue;
    if (rule.sources === undefined) return 'any';
    for (const c of rule.sources) {
      const key = `${c.address}/${c.prefix}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(c);
      }
    }
  }
  return out;
}

/** The address family of a literal, or undefined for a wildcard or a host name. */
export function literalFamily(host: string): 'ipv4' | 'ipv6' | undefined {
  if (host === '0.0.0.0' || host === '::' || host === '') return undefined;
  if (net.isIPv4(host)) return 'ipv4';
  if (net.isIPv6(host)) return 'ipv6';
  return undefined;
}
