/**
 * Named prepared statements and portals of one connection (extended query protocol), so
 * that an Execute can be recorded with the text it runs. Bounded: a client that prepares
 * without end evicts its oldest entries (an evicted statement is recorded as `unknown`).
 */
import { LRUCache } from 'lru-cache';
import type { SqlClass } from '../../policy/action.js';
import type { ClassifiedStatement } from './classify.js';

/** A parsed statement as an Execute will record it. */
export interface PreparedStatement {
  readonly name: string;
  readonly statement: ClassifiedStatement;
}

/** A bound portal: its statement and (when values are recorded) its parameters. */
export interface BoundPortal {
  readonly name: string;
  readonly prepared: PreparedStatement | undefined;
  readonly statementName: string;
  readonly parameters?: readonly (string | null)[];
}

const MAX_STATEMENTS = 4096;
const MAX_TEXT_UNITS = 8 * 1024 * 1024;
const MAX_PORTALS = 1024;
/** A recorded parameter value is cut after this many characters. */
export const MAX_PARAMETER_CHARS = 4096;

export class StatementRegistry {
  private readonly statements = new LRUCache<string, PreparedStatement>({
    max: MAX_STATEMENTS,
    maxSize: MAX_TEXT_UNITS,
    sizeCalculation: (value) => Math.max(1, value.statement.text.length),
  });
  private readonly portals = new LRUCache<string, BoundPortal>({ max: MAX_PORTALS });

  parse(name: string, statement: ClassifiedStatement): void {
    this.statements.set(name, { name, statement });
  }

  bind(
    portal: string,
    statementName: string,
    parameters: readonly (string | null)[] | undefined,
  ): void {
    const prepared = this.statements.get(statementName);
    this.portals.set(portal, {
      name: portal,
      prepared,
      statementName,
      ...(parameters === undefined ? {} : { parameters }),
    });
  }

  portal(name: string): BoundPortal | undefined {
    return this.portals.get(name);
  }

  closeStatement(name: string): void {
    this.statements.delete(name);
  }

  closePortal(name: string): void {
    this.portals.delete(name);
  }
}

const CLASS_RANK: Readonly<Record<SqlClass, number>> = {
  read: 0,
  other: 1,
  tcl: 2,
  write: 3,
  ddl: 4,
  dcl: 5,
  unknown: 6,
};

/**
 * One statement for a Parse text: the server refuses several commands in one prepared
 * statement, but should a text hold several, the most privileged class stands for all.
 */
export function asOneStatement(
  text: string,
  statements: readonly ClassifiedStatement[],
): ClassifiedStatement {
  const [first] = statements;
  if (first === undefined) return { text, sqlClass: 'other', operation: 'EMPTY', tables: [] };
  if (statements.length === 1) return first;
  let sqlClass = first.sqlClass;
  const tables: string[] = [];
  for (const statement of statements) {
    if (CLASS_RANK[statement.sqlClass] > CLASS_RANK[sqlClass]) sqlClass = statement.sqlClass;
    for (const table of statement.tables) if (!tables.includes(table)) tables.push(table);
  }
  return { text: text.trim(), sqlClass, operation: first.operation, tables };
}

/** Bind parameter values for a record: text as is, binary as `\x…` hex, NULL as null. */
export function parameterValues(
  formats: readonly number[],
  parameters: readonly (Buffer | null)[],
): (string | null)[] {
  return parameters.map((value, index) => {
    if (value === null) return null;
    const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[index];
    // Decode only what can be kept: a large value costs no more than its recorded prefix.
    if (format === 1) {
      const hex = `\\x${value.toString('hex', 0, Math.min(value.length, MAX_PARAMETER_CHARS / 2))}`;
      return value.length > MAX_PARAMETER_CHARS / 2 ? `${hex}…` : hex;
    }
    const text = value.toString('utf8', 0, Math.min(value.length, MAX_PARAMETER_CHARS * 4));
    return text.length > MAX_PARAMETER_CHARS || value.length > MAX_PARAMETER_CHARS * 4
      ? `${text.slice(0, MAX_PARAMETER_CHARS)}…`
      : text;
  });
}
