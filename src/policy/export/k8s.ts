/**
 * Kubernetes NetworkPolicy (networking.k8s.io/v1) objects: for each listener, ingress to
 * its target pods only from the gateway pods, on the target port. Assumptions: the target
 * pods carry labels (default `portwarden.io/target: <listener>`, or `targetSelectors`);
 * `target.port` is the pod's port (a Service's targetPort, not its port, when they differ);
 * another policy must still allow the gateway's own egress if egress is isolated.
 * Optionally (`gatewayIngress`) one more policy fences the gateway pods' listener ports to
 * the sources their policies could allow; it isolates the gateway pods, so every other port
 * they serve (API, metrics) must be listed in `gatewayExtraPorts`.
 */
import { stringify } from 'yaml';
import type { CompiledPolicy } from '../evaluate.js';
import { allowedSources, type ExportListener } from './listeners.js';

type Labels = Readonly<Record<string, string>>;

/** Where the pods are and how to select them. */
export interface K8sOptions {
  readonly namespace?: string;
  /** Labels of the gateway pods. */
  readonly gatewaySelector: Labels;
  /** Labels of the gateway's namespace, when targets live in other namespaces. */
  readonly gatewayNamespaceSelector?: Labels;
  /** Listener name → labels of its target pods. */
  readonly targetSelectors?: Readonly<Record<string, Labels>>;
  /** Also fence the gateway pods' listener ports (default false). */
  readonly gatewayIngress?: boolean;
  /** Other TCP ports of the gateway pods to leave open when `gatewayIngress` is on. */
  readonly gatewayExtraPorts?: readonly number[];
}

/** The subset of a NetworkPolicy this export writes. */
export interface NetworkPolicy {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels: Labels;
  };
  readonly spec: {
    readonly podSelector: { readonly matchLabels: Labels };
    readonly policyTypes: readonly ['Ingress'];
    readonly ingress: readonly IngressRule[];
  };
}

interface IngressRule {
  readonly from?: readonly Peer[];
  readonly ports: readonly { readonly protocol: 'TCP'; readonly port: number }[];
}

type Peer =
  | {
      readonly podSelector: { readonly matchLabels: Labels };
      readonly namespaceSelector?: { readonly matchLabels: Labels };
    }
  | { readonly ipBlock: { readonly cidr: string } };

const MANAGED = { 'app.kubernetes.io/managed-by': 'portwarden' } as const;

/** Build the NetworkPolicy objects. */
export function networkPolicies(
  listeners: readonly ExportListener[],
  policies: ReadonlyMap<string, CompiledPolicy>,
  options: K8sOptions,
): NetworkPolicy[] {
  const gatewayPeer: Peer = {
    podSelector: { matchLabels: { ...options.gatewaySelector } },
    ...(options.gatewayNamespaceSelector === undefined
      ? {}
      : { namespaceSelector: { matchLabels: { ...options.gatewayNamespaceSelector } } }),
  };
  const out: NetworkPolicy[] = listeners.map((listener) =>
    networkPolicy(
      `portwarden-target-${dnsLabel(listener.name)}`,
      options,
      options.targetSelectors?.[listener.name] ?? { 'portwarden.io/target': listener.name },
      [{ from: [gatewayPeer], ports: [{ protocol: 'TCP', port: listener.target.port }] }],
    ),
  );
  if (options.gatewayIngress === true) {
    const rules: IngressRule[] = [];
    for (const listener of listeners) {
      const sources = allowedSources(listener, policies);
      const ports = [{ protocol: 'TCP' as const, port: listener.listen.port }];
      if (sources === 'any') rules.push({ ports });
      else if (sources.length > 0) {
        rules.push({
          from: sources.map((c) => ({ ipBlock: { cidr: `${c.address}/${c.prefix}` } })),
          ports,
        });
      }
      // No sources at all: no rule, so the isolated port admits nobody.
    }
    for (const port of options.gatewayExtraPorts ?? [])
      rules.push({ ports: [{ protocol: 'TCP', port }] });
    out.push(networkPolicy('portwarden-gateway', options, options.gatewaySelector, rules));
  }
  return out;
}

/** The NetworkPolicy objects as one multi-document YAML text. */
export function exportK8s(
  listeners: readonly ExportListener[],
  policies: ReadonlyMap<string, CompiledPolicy>,
  options: K8sOptions,
): string {
  return networkPolicies(listeners, policies, options)
    .map((p) => `---\n${stringify(p)}`)
    .join('');
}

function networkPolicy(
  name: string,
  options: K8sOptions,
  podLabels: Labels,
  ingress: readonly IngressRule[],
): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      labels: { ...MANAGED },
    },
    spec: { podSelector: { matchLabels: { ...podLabels } }, policyTypes: ['Ingress'], ingress },
  };
}

/** A DNS-1123 label from a listener name: lower case, [a-z0-9-], at most 40 characters. */
function dnsLabel(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return label === '' ? 'listener' : label;
}
