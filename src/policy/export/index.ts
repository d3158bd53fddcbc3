/** Firewall exports of listeners and their policies: nftables and Kubernetes NetworkPolicy. */
export { exportNftables, type NftablesOptions } from './nftables.js';
export { exportK8s, networkPolicies, type K8sOptions, type NetworkPolicy } from './k8s.js';
export { allowedSources, type AllowedSources, type ExportListener } from './listeners.js';
