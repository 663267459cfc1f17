// A settlement client in Node.js, written from README.md ("Writing a client in another language")
// and proto/ alone: protobufjs builds the messages, @grpc/grpc-js carries them over mTLS, Node's
// crypto signs with Ed25519. tests/conformance/test_js_client.py runs it against a real local
// cluster; it exits 0 only if every check passes, and prints one JSON line per check.
//
//   node conformance.js --vectors docs/signing-vectors.json --proto-dir proto
//       [--address HOST:PORT --ca ca.crt --cert settler.crt --key settler.key
//        --signing-key keys/settler.key --key-id settler --market BTC-PERP --buyer B --seller S --price P]
//
// Without --address it checks the signing recipe against the vectors only.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protobuf = require("protobufjs");

const BATCH_DOMAIN = Buffer.from("settlement.v1/batch\0", "latin1");
const PRICE_DOMAIN = Buffer.from("settlement.v1/price\0", "latin1");
const VOTE_DOMAIN = Buffer.from("settlement.v1/checkpoint\0", "latin1");
const SUBMIT = "/settlement.v1.Settlement/Submit";
const GET_GUARDS = "/settlement.v1.Settlement/GetGuards";
// PKCS#8 DER prefix of an Ed25519 private key: what Node's crypto needs around a raw 32-byte seed.
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--")) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

let failures = 0;
function check(name, ok, detail = {}) {
  console.log(JSON.stringify({ check: name, ok: Boolean(ok), ...detail }));
  if (!ok) failures += 1;
}

// -- the signing recipe ------------------------------------------------------------------------

function keyFromSeedFile(file) {
  // A key file holds the 32-byte seed as 64 hex digits (or the 32 raw bytes).
  const data = fs.readFileSync(file);
  const seed = data.length === 32 ? data : Buffer.from(data.toString("ascii").trim(), "hex");
  if (seed.length !== 32) throw new Error(`${file}: not an Ed25519 seed`);
  return keyFromSeed(seed);
}

function keyFromSeed(seed) {
  return crypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function publicKeyOf(privateKey) {
  return crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(-32);
}

function sign(privateKey, message) {
  return crypto.sign(null, message, privateKey);
}

function lengthPrefixed(text) {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length > 255) throw new Error(`${text}: longer than 255 bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function int64(value) {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(value));
  return out;
}

// SHA-256 over each command's bytes as sent, each preceded by its length (4 bytes, big-endian).
function commandsDigest(encodedCommands) {
  const hash = crypto.createHash("sha256");
  for (const command of encodedCommands) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(command.length);
    hash.update(length);
    hash.update(command);
  }
  return hash.digest();
}

function batchMessage(cluster, keyId, sequence, signedAtMs, digest) {
  return Buffer.concat([BATCH_DOMAIN, lengthPrefixed(cluster), lengthPrefixed(keyId), int64(sequence), int64(signedAtMs), digest]);
}

function priceMessage(market, source, price, sourceTimeMs) {
  return Buffer.concat([PRICE_DOMAIN, lengthPrefixed(market), lengthPrefixed(source), int64(price), int64(sourceTimeMs)]);
}

function voteMessage(cluster, keyId, index, stateHash) {
  return Buffer.concat([VOTE_DOMAIN, lengthPrefixed(cluster), lengthPrefixed(keyId), int64(index), stateHash]);
}

// Canonical JSON: sorted keys, no spaces, ASCII only, integers only.
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${asciiJson(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isInteger(value)) throw new Error("integers only");
  return typeof value === "string" ? asciiJson(value) : JSON.stringify(value);
}

function asciiJson(text) {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// A varint, for writing the request's repeated `commands` field (field 1, length-delimited).
function varint(value) {
  const out = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

// The request on the wire: the commands' bytes exactly as hashed (field 1 each), then the signed
// fields (2-5) encoded by protobufjs; protobuf readers merge concatenated fields.
function submitRequest(types, encodedCommands, signedFields) {
  const commands = encodedCommands.map((c) => Buffer.concat([Buffer.from([0x0a]), varint(c.length), c]));
  const tail = types.SubmitRequest.encode(types.SubmitRequest.fromObject(signedFields)).finish();
  return Buffer.concat([...commands, Buffer.from(tail)]);
}

function signedBatch(types, privateKey, cluster, keyId, sequence, signedAtMs, encodedCommands) {
  const signature = sign(privateKey, batchMessage(cluster, keyId, sequence, signedAtMs, commandsDigest(encodedCommands)));
  return submitRequest(types, encodedCommands, {
    key_id: keyId, sequence: sequence.toString(), signed_at_ms: signedAtMs.toString(), signature,
  });
}

// -- the vectors -------------------------------------------------------------------------------

function checkVectors(types, vectors) {
  const key = keyFromSeed(Buffer.from(vectors.key.seed_hex, "hex"));
  check("vectors: the seed gives the public key", publicKeyOf(key).toString("hex") === vectors.key.public_key_hex);
  for (const v of vectors.batches) {
    const encoded = v.commands.map((c) => Buffer.from(c.bytes_hex, "hex"));
    const fromFields = v.commands.map((c) => Buffer.from(types.Command.encode(types.Command.fromObject(c.fields)).finish()));
    check(`vectors: protobufjs encodes the fields of "${v.name}" to its bytes`,
      fromFields.every((bytes, i) => bytes.equals(encoded[i])), { got: fromFields.map((b) => b.toString("hex")) });
    const digest = commandsDigest(encoded);
    check(`vectors: digest of "${v.name}"`, digest.toString("hex") === v.commands_digest_hex);
    const sequence = (BigInt(v.stream) << 32n) | BigInt(v.counter);
    check(`vectors: sequence of "${v.name}"`, sequence.toString() === v.sequence);
    const message = batchMessage(v.cluster, v.key_id, sequence, BigInt(v.signed_at_ms), digest);
    check(`vectors: signed bytes of "${v.name}"`, message.toString("hex") === v.message_hex);
    check(`vectors: signature of "${v.name}"`, sign(key, message).toString("hex") === v.signature_hex);
    const request = signedBatch(types, key, v.cluster, v.key_id, sequence, BigInt(v.signed_at_ms), encoded);
    check(`vectors: request bytes of "${v.name}"`, request.toString("hex") === v.request_hex, { got: request.toString("hex") });
  }
  for (const v of vectors.price_updates) {
    const message = priceMessage(v.market, v.source, BigInt(v.price), BigInt(v.source_time_ms));
    check("vectors: price update bytes", message.toString("hex") === v.message_hex);
    check("vectors: price update signature", sign(key, message).toString("hex") === v.signature_hex);
  }
  for (const v of vectors.actions) {
    const message = Buffer.from(canonicalJson(v.payload), "ascii");
    check("vectors: action canonical JSON", message.toString("hex") === v.message_hex);
    check("vectors: action signature", sign(key, message).toString("hex") === v.signature_hex);
  }
  for (const v of vectors.checkpoint_votes) {
    const message = voteMessage(v.cluster, v.key_id, BigInt(v.index), Buffer.from(v.state_hash_hex, "hex"));
    check("vectors: checkpoint vote bytes", message.toString("hex") === v.message_hex);
    check("vectors: checkpoint vote signature", sign(key, message).toString("hex") === v.signature_hex);
  }
}

// -- talking to a cluster ----------------------------------------------------------------------

function unary(client, method, request, deadlineMs = 10_000) {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, (b) => b, (b) => b, request, new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

class Cluster {
  constructor(address, credentials) {
    this.credentials = credentials;
    this.clients = new Map();
    this.leader = address;
  }

  client(address) {
    if (!this.clients.has(address)) this.clients.set(address, new grpc.Client(address, this.credentials));
    return this.clients.get(address);
  }

  // Writes go to the leader: a follower answers UNAVAILABLE with trailing metadata x-leader.
  async call(method, request) {
    let lastError;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      try {
        return await unary(this.client(this.leader), method, request);
      } catch (error) {
        lastError = error;
        const hint = error.metadata && error.metadata.get("x-leader")[0];
        if (error.code !== grpc.status.UNAVAILABLE) throw error;
        if (hint) this.leader = String(hint);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw lastError;
  }

  close() {
    for (const client of this.clients.values()) client.close();
  }
}

function randomStream() {
  return crypto.randomInt(1, 2 ** 31); // 31 bits: stream << 32 | counter stays within int64
}

async function checkCluster(types, options) {
  const credentials = grpc.credentials.createSsl(
    fs.readFileSync(options.ca), fs.readFileSync(options.key), fs.readFileSync(options.cert));
  const cluster = new Cluster(options.address, credentials);
  try {
    // The cluster id every signature binds: the installed signer set's, as GetGuards serves it.
    const guardsRequest = types.GetGuardsRequest.encode(types.GetGuardsRequest.fromObject({ consistency: "LOCAL" })).finish();
    const guards = types.Guards.decode(await cluster.call(GET_GUARDS, Buffer.from(guardsRequest)));
    const clusterId = guards.signer_set.cluster;
    check("cluster: GetGuards names the cluster id", clusterId.length > 0, { cluster: clusterId });

    const signingKey = keyFromSeedFile(options["signing-key"]);
    const keyId = options["key-id"];
    const stream = BigInt(randomStream());
    let counter = 0n;
    const nextSequence = () => { counter += 1n; return (stream << 32n) | counter; };
    const id = `js-${crypto.randomBytes(6).toString("hex")}`;
    const trade = (quantity) => types.Command.fromObject({
      id,
      settle_trade: {
        market: options.market, buyer: options.buyer, seller: options.seller,
        price: options.price, quantity, buyer_fee: 0, seller_fee: 0, // set explicitly: protobufjs writes them
      },
    });
    const encoded = [Buffer.from(types.Command.encode(trade(1)).finish())];
    check("submit: protobufjs wrote the fees set explicitly to zero", encoded[0].includes(Buffer.from("30003800", "hex")),
      { bytes: encoded[0].toString("hex") });

    const signedAtMs = BigInt(Date.now());
    const request = signedBatch(types, signingKey, clusterId, keyId, nextSequence(), signedAtMs, encoded);
    const codeOf = (reply) => types.SubmitResponse.decode(reply).results.map((r) => types.ResultCode[r.code] ?? r.code);

    const first = codeOf(await cluster.call(SUBMIT, request));
    check("submit: a signed SettleTrade is applied", first.length === 1 && first[0] === "OK", { codes: first });

    const again = codeOf(await cluster.call(SUBMIT, request));
    check("submit: the same bytes sent again are answered DUPLICATE", again.length === 1 && again[0] === "DUPLICATE", { codes: again });

    // The signed bytes with the command altered under the signature (another quantity).
    const tampered = Buffer.from(request);
    const altered = Buffer.from(types.Command.encode(trade(7)).finish());
    if (altered.length !== encoded[0].length) throw new Error("the altered command must keep its length");
    altered.copy(tampered, 1 + varint(encoded[0].length).length);
    const refused = codeOf(await cluster.call(SUBMIT, tampered));
    check("submit: a tampered copy is refused INVALID_SIGNATURE", refused.length === 1 && refused[0] === "INVALID_SIGNATURE", { codes: refused });

    // A field this node does not know (999 inside the command), signed: refused, not dropped.
    const unknown = [Buffer.concat([Buffer.from(types.Command.encode(trade(1)).finish()), Buffer.from("b83e07", "hex")])];
    const withUnknown = signedBatch(types, signingKey, clusterId, keyId, nextSequence(), BigInt(Date.now()), unknown);
    try {
      await cluster.call(SUBMIT, withUnknown);
      check("submit: a command with an unknown field is refused INVALID_ARGUMENT", false);
    } catch (error) {
      check("submit: a command with an unknown field is refused INVALID_ARGUMENT",
        error.code === grpc.status.INVALID_ARGUMENT && /field 999/.test(error.details), { code: error.code, details: error.details });
    }
  } finally {
    cluster.close();
  }
}

async function main() {
  const options = args();
  const protoDir = options["proto-dir"];
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  await root.load(["settlement/v1/settlement.proto", "settlement/v1/commands.proto"], { keepCase: true });
  const types = {
    Command: root.lookupType("settlement.v1.Command"),
    SubmitRequest: root.lookupType("settlement.v1.SubmitRequest"),
    SubmitResponse: root.lookupType("settlement.v1.SubmitResponse"),
    GetGuardsRequest: root.lookupType("settlement.v1.GetGuardsRequest"),
    Guards: root.lookupType("settlement.v1.Guards"),
    ResultCode: root.lookupEnum("settlement.v1.ResultCode").valuesById,
  };
  checkVectors(types, JSON.parse(fs.readFileSync(options.vectors, "utf8")));
  if (options.address) await checkCluster(types, options);
  console.log(JSON.stringify({ done: true, failures }));
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((error) => {
  console.log(JSON.stringify({ check: "no exception", ok: false, error: String(error && error.stack || error) }));
  process.exit(1);
});
