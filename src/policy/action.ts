/**
 * What policy is asked about. Connection-level facts are known at accept (and grow as the
 * protocol reveals user and database); request-level facts describe one action.
 * Protocol sessions build these; the policy engine decides. Pure data, no I/O.
 */

/** The statement class every SQL protocol maps to; `unknown` is treated as most privileged. */
export type SqlClass = 'read' | 'write' | 'ddl' | 'dcl' | 'tcl' | 'other' | 'unknown';

/** Facts about the connection, as far as they are known so far. */
export interface ConnectionFacts {
  readonly listener: string;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly user?: string;
  readonly database?: string;
  readonly application?: string;
  readonly tlsSubject?: string;
  /** Local client process when the client is on this host (null: looked up, not found). */
  readonly process?: { readonly exe: string; readonly uid: number; readonly pid: number } | null;
  /** Identity groups when the gateway authenticated the client. */
  readonly groups?: readonly string[];
}

/** One action inside a connection, per protocol. */
export type ActionFacts =
  | {
      readonly protocol: 'postgres' | 'mysql';
      readonly sqlClass: SqlClass;
      /** Upper-case statement keyword(s), e.g. SELECT, DELETE, CREATE TABLE. */
      readonly operation: string;
      readonly tables: readonly string[];
      readonly text: string;
    }
  | {
      readonly protocol: 'redis';
      /** Lower-case command name, with the subcommand for container commands (`config|set`). */
      readonly command: string;
      /** ACL categories without the `@`, e.g. read, write, dangerous. */
      readonly categories: readonly string[];
      /**
       * Every key the command names, as far as the gateway read them (the first 256); absent
       * when not known at all (e.g. a replayed record from before keys were recorded).
       */
      readonly keys?: readonly string[];
      /** False when `keys` is not all of them (too many, cut, or positions not describable). */
      readonly keysComplete?: boolean;
    }
  | {
      readonly protocol: 'http';
      readonly method: string;
      readonly path: string;
      readonly host?: string;
    };

/** The engine's answer. `alert` allows and asks for an alert record. */
export interface Decision {
  readonly verdict: 'allow' | 'deny' | 'alert';
  /** The rule that matched; absent when the policy default applied or no policy is attached. */
  readonly ruleId?: string;
  /** `sha256:<hex>` of the canonical policy; absent for audit-only listeners. */
  readonly policyVersion?: string;
  /** Short human reason, e.g. "no rule allows" or "rule no-ddl-from-app". */
  readonly reason: string;
}

/** What a session asks: may this connection do this? */
export interface PolicyDecider {
  decideConnection(conn: ConnectionFacts, at: Date): Decision;
  decideAction(conn: ConnectionFacts, action: ActionFacts, at: Date): Decision;
}

/** Audit-only: everything passes (a listener without a policy). */
export const AUDIT_ONLY: PolicyDecider = {
  decideConnection: () => ({ verdict: 'allow', reason: 'audit-only listener' }),
  decideAction: () => ({ verdict: 'allow', reason: 'audit-only listener' }),
};
