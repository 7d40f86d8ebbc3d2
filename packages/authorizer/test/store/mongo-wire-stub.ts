/*
 * A MongoDB wire-protocol stub for fault tests that need no MongoDB server: it speaks OP_MSG (and the legacy OP_QUERY
 * handshake) on a free loopback port, claims to be a replica-set primary (or a standalone), and answers every command
 * with a plausible empty success: finds return no documents, an update matched one document, inserts inserted all.
 * It stores nothing. Tests script it: hang a command (never answer), fail the next ones with an error document, or
 * run a hook when a command arrives (e.g. reset the connection through the fault proxy).
 *
 * What it proves: how the MongoStore behaves on the wire (which commands it sends, with which bounds, what it does
 * when answers are slow, lost or failing). What it does not: anything about MongoDB's own semantics.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { BSON, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

export interface StubCommand {
  name: string;
  body: Document;
}

export interface MongoWireStubOptions {
  /** The replica-set name the stub reports; null reports a standalone. Default 'rs0'. */
  replicaSet?: string | null;
}

export class MongoWireStub {
  /** Every command received, in order (handshakes and heartbeats included). */
  readonly commands: StubCommand[] = [];
  /** Collections `create` answers NamespaceExists for (as if created by an earlier version). */
  readonly existingCollections = new Set<string>();
  readonly #hang = new Set<string>();
  readonly #failures = new Map<string, Document[]>();
  readonly #hooks = new Map<string, Array<() => void>>();
  readonly #sockets = new Set<Socket>();
  #connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly replicaSet: string | null,
  ) {}

  static async start(options: MongoWireStubOptions = {}): Promise<MongoWireStub> {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    const stub = new MongoWireStub(server, port, options.replicaSet === undefined ? 'rs0' : options.replicaSet);
    server.on('connection', (socket) => stub.#accept(socket));
    return stub;
  }

  /** Never answers `name` from now on (the request is received and recorded). */
  hang(name: string): void {
    this.#hang.add(name);
  }

  /** Answers the next `count` `name` commands with `error` (an `ok: 0` document is built from it). */
  fail(name: string, count: number, error: { code: number; codeName: string; errorLabels?: string[] }): void {
    const queue = this.#failures.get(name) ?? [];
    for (let i = 0; i < count; i++) queue.push({ ok: 0, errmsg: `stub: ${error.codeName}`, ...error });
    this.#failures.set(name, queue);
  }

  /** Runs `hook` when the next `name` command arrives, before it is answered (or hung). */
  onNext(name: string, hook: () => void): void {
    const hooks = this.#hooks.get(name) ?? [];
    hooks.push(hook);
    this.#hooks.set(name, hooks);
  }

  /** The commands received with this name. */
  named(name: string): StubCommand[] {
    return this.commands.filter((command) => command.name === name);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    const connectionId = ++this.#connections;
    let pending = Buffer.alloc(0);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        this.#handle(socket, message, connectionId);
      }
    });
  }

  #handle(socket: Socket, message: Buffer, connectionId: number): void {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    let body: Document;
    if (opCode === OP_MSG) {
      body = parseOpMsg(message);
    } else if (opCode === OP_QUERY) {
      let at = 20;
      while (message[at] !== 0) at++;
      at += 1 + 8;
      body = BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)));
    } else {
      socket.destroy();
      return;
    }
    const name = Object.keys(body)[0] ?? '';
    this.commands.push({ name, body });
    for (const hook of this.#hooks.get(name)?.splice(0) ?? []) hook();
    if (this.#hang.has(name) || socket.destroyed) return;
    const failure = this.#failures.get(name)?.shift();
    const reply = failure ?? this.#answer(name, body, connectionId);
    socket.write(opCode === OP_MSG ? opMsg(requestId, reply) : opReply(requestId, reply));
  }

  #answer(name: string, body: Document, connectionId: number): Document {
    const collection = String(body[name]);
    const ns = `${String(body['$db'] ?? 'admin')}.${collection}`;
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.#hello(connectionId);
      case 'find':
      case 'aggregate':
      case 'listCollections':
        return { cursor: { id: BSON.Long.fromNumber(0), ns, firstBatch: [] }, ok: 1 };
      case 'update':
        return { n: 1, nModified: 1, ok: 1 };
      case 'insert':
        return { n: Array.isArray(body['documents']) ? body['documents'].length : 0, ok: 1 };
      case 'delete':
        return { n: 0, ok: 1 };
      case 'create':
        return this.existingCollections.has(collection)
          ? { ok: 0, code: 48, codeName: 'NamespaceExists', errmsg: `Collection ${ns} already exists.` }
          : { ok: 1 };
      default:
        return { ok: 1 };
    }
  }

  #hello(connectionId: number): Document {
    const me = `127.0.0.1:${this.port}`;
    const common = {
      helloOk: true,
      isWritablePrimary: true,
      ismaster: true,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
    if (this.replicaSet === null) return common;
    return { ...common, setName: this.replicaSet, setVersion: 1, hosts: [me], primary: me, me };
  }
}

function parseOpMsg(message: Buffer): Document {
  const flags = message.readUInt32LE(16);
  const end = message.length - ((flags & 1) === 1 ? 4 : 0);
  let at = 20;
  let body: Document = {};
  const sequences: Record<string, Document[]> = {};
  while (at < end) {
    const kind = message[at];
    at += 1;
    if (kind === 0) {
      const size = message.readInt32LE(at);
      body = BSON.deserialize(message.subarray(at, at + size));
      at += size;
    } else {
      const size = message.readInt32LE(at);
      const sectionEnd = at + size;
      let cursor = at + 4;
      const nameEnd = message.indexOf(0, cursor);
      const identifier = message.toString('utf8', cursor, nameEnd);
      cursor = nameEnd + 1;
      const docs: Document[] = [];
      while (cursor < sectionEnd) {
        const docSize = message.readInt32LE(cursor);
        docs.push(BSON.deserialize(message.subarray(cursor, cursor + docSize)));
        cursor += docSize;
      }
      sequences[identifier] = docs;
      at = sectionEnd;
    }
  }
  return { ...body, ...sequences };
}

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(Math.floor(Math.random() * 2 ** 31), 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

function opMsg(responseTo: number, reply: Document): Buffer {
  const doc = Buffer.from(BSON.serialize(reply));
  const length = 16 + 4 + 1 + doc.length;
  return Buffer.concat([header(length, responseTo, OP_MSG), Buffer.alloc(4), Buffer.from([0]), doc]);
}

function opReply(responseTo: number, reply: Document): Buffer {
  const doc = Buffer.from(BSON.serialize(reply));
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16); // numberReturned; flags, cursorID and startingFrom stay 0
  return Buffer.concat([header(16 + 20 + doc.length, responseTo, OP_REPLY), fields, doc]);
}
