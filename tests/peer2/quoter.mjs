// A second peer for fedblog's tests, from another generation of tools than
// tests/peer: Fedify 2.3 (its own vocabulary, with FEP-044f's QuoteRequest)
// on Node.js 22, both installed from npm. It hosts one actor, `carol`, on
// 127.0.0.1 and:
//   - quotes a post with a QuoteRequest signed with an RFC 9421 HTTP Message
//     Signature (POST /control/quote {"post", "inbox"});
//   - takes only RFC 9421 signatures in its inbox (401 otherwise, as a server
//     that refuses draft-cavage would), verified by Fedify's verifyRequest,
//     and parses what arrives with Fedify's vocabulary (GET /control/inbox).
// Prints "PEER READY http://localhost:<port>" once listening; exits when
// stdin closes.

import http from "node:http";
import process from "node:process";

import { generateCryptoKeyPair, signRequest, verifyRequest } from "@fedify/fedify";
import { Accept, CryptographicKey, Note, Person, QuoteRequest, Reject } from "@fedify/vocab";
import { getDocumentLoader } from "@fedify/vocab-runtime";

const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
const loader = getDocumentLoader({ allowPrivateAddress: true });
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const log = [];
// The QuoteRequests sent, served at their ids: Fedify reads an embedded
// object from another origin (ours, echoed in an Accept) only from its id.
const requests = new Map();
let origin = "";
let sent = 0;

const actorId = () => new URL("/users/carol", origin);
const keyId = () => new URL("/users/carol#main-key", origin);

async function actor() {
  return new Person({
    id: actorId(),
    preferredUsername: "carol",
    inbox: new URL("/users/carol/inbox", origin),
    publicKey: new CryptographicKey({ id: keyId(), owner: actorId(), publicKey: keys.publicKey }),
  });
}

function quotingNote(n, post) {
  return new Note({
    id: new URL(`/notes/${n}`, origin),
    attribution: actorId(),
    to: new URL(PUBLIC),
    content: `<p>Quoting, ${n}</p>`,
    quote: new URL(post),
  });
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function activityJson(res, body) {
  res.writeHead(200, { "content-type": "application/activity+json" });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function inbox(req, res, body) {
  const request = new Request(new URL(req.url, origin), { method: "POST", headers: req.headers, body });
  if (!request.headers.has("signature-input")) {
    log.push({ refused: "not an RFC 9421 signature" });
    return json(res, 401, { error: "only RFC 9421 HTTP Message Signatures are accepted" });
  }
  const key = await verifyRequest(request, { documentLoader: loader, contextLoader: loader, spec: "rfc9421" })
    .catch((e) => { log.push({ refused: `verifyRequest threw: ${e.message}` }); return null; });
  if (key == null) {
    log.push({ refused: "RFC 9421 signature not verified" });
    return json(res, 401, { error: "signature not verified" });
  }
  const raw = JSON.parse(body.toString("utf8"));
  let parsed = null;
  for (const cls of [Accept, Reject]) {
    if (raw.type === cls.name) parsed = await cls.fromJsonLd(raw, { documentLoader: loader, contextLoader: loader });
  }
  const object = parsed == null ? null : await parsed.getObject({ documentLoader: loader, contextLoader: loader }).catch(() => null);
  log.push({
    type: raw.type,
    signer: key.ownerId?.href ?? null,
    spec: "rfc9421",
    // What Fedify's vocabulary made of it.
    objectType: object?.constructor?.name ?? null,
    objectId: object?.id?.href ?? null,
    result: parsed?.resultId?.href ?? raw.result ?? null,
    raw,
  });
  json(res, 202, {});
}

async function quote(res, body) {
  const { post, inbox: target } = JSON.parse(body.toString("utf8"));
  const n = ++sent;
  const request = new QuoteRequest({
    id: new URL(`/users/carol/quote_requests/${n}`, origin),
    actor: actorId(),
    object: new URL(post),
    instrument: quotingNote(n, post),
  });
  const activity = await request.toJsonLd({ contextLoader: loader });
  requests.set(`/users/carol/quote_requests/${n}`, activity);
  let outgoing = new Request(target, {
    method: "POST",
    headers: { "content-type": "application/activity+json" },
    body: JSON.stringify(activity),
  });
  outgoing = await signRequest(outgoing, keys.privateKey, keyId(), { spec: "rfc9421" });
  const response = await fetch(outgoing);
  json(res, 200, { status: response.status, body: await response.text(), id: activity.id, activity });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    const body = req.method === "POST" ? await readBody(req) : Buffer.alloc(0);
    if (req.method === "GET" && url.pathname === "/users/carol") {
      return activityJson(res, await (await actor()).toJsonLd({ contextLoader: loader }));
    }
    const note = /^\/notes\/(\d+)$/.exec(url.pathname);
    if (req.method === "GET" && note) {
      return activityJson(res, await quotingNote(note[1], url.searchParams.get("post") ?? PUBLIC).toJsonLd({ contextLoader: loader }));
    }
    if (req.method === "GET" && requests.has(url.pathname)) return activityJson(res, requests.get(url.pathname));
    if (req.method === "POST" && url.pathname === "/users/carol/inbox") return await inbox(req, res, body);
    if (req.method === "POST" && url.pathname === "/control/quote") return await quote(res, body);
    if (req.method === "GET" && url.pathname === "/control/inbox") return json(res, 200, { activities: log });
    json(res, 404, { error: "not found" });
  } catch (error) {
    process.stderr.write(`[quoter] ${error.stack ?? error}\n`);
    json(res, 500, { error: String(error) });
  }
});

server.listen(0, "127.0.0.1", () => {
  origin = `http://localhost:${server.address().port}`;
  process.stdout.write(`PEER READY ${origin}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
