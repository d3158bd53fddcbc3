/**
 * Listener `auth: gateway`: the gateway's own login to the target as the mapped database
 * user. It answers whatever the server asks — nothing (trust), a cleartext password, MD5,
 * or SASL SCRAM-SHA-256 — and swallows that exchange; from AuthenticationOk on, the bytes
 * belong to the ordinary session (protocol-flow §53.2.2 "Start-up").
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../../errors.js';
import { decodeErrorFields } from './backend-parser.js';
import {
  HandshakeReader,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
} from './handshake.js';
import { AuthCode, BackendCode, type ErrorFields } from './messages.js';
import { BufferReader } from './reader.js';
import { SCRAM_MECHANISM, ScramClient } from './scram.js';

/** Server messages during login are short; a larger one is not a login exchange. */
const MAX_LOGIN_MESSAGE = 64 * 1024;

export interface UpstreamLoginSink {
  toUpstream(bytes: Buffer): void;
  /** AuthenticationOk arrived: `rest` holds it and every byte after it. */
  done(rest: Buffer): void;
  /** The target refused or asked for something we cannot do (`error`: its ErrorResponse). */
  failed(reason: string, error?: ErrorFields): void;
}

const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

export class UpstreamLogin {
  private readonly reader = new HandshakeReader(false, MAX_LOGIN_MESSAGE, 'server');
  private scram: ScramClient | null = null;
  private over = false;

  constructor(
    private readonly user: string,
    private readonly password: string | undefined,
    private readonly sink: UpstreamLoginSink,
  ) {}

  /** Server bytes; throws ProtocolError on a malformed message. */
  push(chunk: Buffer): void {
    if (this.over) return;
    this.reader.push(chunk);
    for (let frame = this.reader.next(); frame !== null; frame = this.reader.next()) {
      if (frame.code === BackendCode.ErrorResponse) {
        this.fail('target refused the login', decodeErrorFields(frame.body));
      } else if (frame.code === BackendCode.Authentication) {
        const body = new BufferReader(frame.body, 'Authentication');
        const code = body.int32();
        if (code === AuthCode.Ok) {
          this.over = true;
          this.sink.done(Buffer.concat([frame.raw, this.reader.takeRest()]));
        } else {
          this.answer(code, body);
        }
      } else if (
        frame.code !== BackendCode.NoticeResponse &&
        frame.code !== BackendCode.NegotiateProtocolVersion
      ) {
        throw new ProtocolError(
          'postgres',
          `server: message ${String.fromCharCode(frame.code)} during login`,
        );
      }
      if (this.over) return;
    }
  }

  private answer(code: number, body: BufferReader): void {
    const password = this.password;
    if (password === undefined) {
      this.fail(`target asks for a password (request ${code}) but none is configured`);
      return;
    }
    switch (code) {
      case AuthCode.CleartextPassword:
        this.sink.toUpstream(passwordMessage(password));
        return;
      case AuthCode.MD5Password: {
        // "md5" + md5(md5(password + user) + salt) — protocol-flow, AuthenticationMD5Password.
        const salt = body.bytes(4);
        const inner = md5(password + this.user);
        this.sink.toUpstream(
          passwordMessage(`md5${md5(Buffer.concat([Buffer.from(inner), salt]))}`),
        );
        return;
      }
      case AuthCode.SASL: {
        const mechanisms: string[] = [];
        for (let m = body.cstring(); m !== ''; m = body.cstring()) mechanisms.push(m);
        if (!mechanisms.includes(SCRAM_MECHANISM)) {
          this.fail(`target offers no SASL mechanism we speak (${mechanisms.join(', ')})`);
          return;
        }
        this.scram = new ScramClient(password);
        this.sink.toUpstream(saslInitialResponse(SCRAM_MECHANISM, this.scram.firstMessage()));
        return;
      }
      case AuthCode.SASLContinue: {
        const step = this.scram?.finalMessage(body.rest().toString('utf8'));
        if (step === undefined || !step.ok) this.fail(`SCRAM: ${step?.reason ?? 'unexpected'}`);
        else this.sink.toUpstream(saslResponse(step.message));
        return;
      }
      case AuthCode.SASLFinal: {
        const step = this.scram?.verifyServerFinal(body.rest().toString('utf8'));
        if (step === undefined || !step.ok) this.fail(`SCRAM: ${step?.reason ?? 'unexpected'}`);
        return;
      }
      default:
        this.fail(`target asks for an authentication method we do not speak (${code})`);
    }
  }

  private fail(reason: string, error?: ErrorFields): void {
    if (this.over) return;
    this.over = true;
    this.sink.failed(reason, error);
  }
}
