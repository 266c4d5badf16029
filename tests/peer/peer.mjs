#!/usr/bin/env node
// A third-party ActivityPub peer for fedblog's integration tests.
//
// It is built on Fedify (an ActivityPub framework we did not write), hosts one
// actor, `alice`, on 127.0.0.1, logs every activity it receives after Fedify has
// verified it, and exposes a small JSON control API under /control/ so a test
// can make alice follow, look up, fetch, reply, like, and so on.
//
//   node peer.mjs --port 0
//
// prints exactly one line on stdout once it is listening:
//
//   PEER READY http://127.0.0.1:<port>
//
// and runs until SIGTERM or SIGINT (exit status 0). Diagnostics go to stderr.
// See README.md beside this file for the control API.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import process from "node:process";
import { parseArgs } from "node:util";

import { serve } from "@hono/node-server";
import { configure } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";
import {
  Accept,
  Activity,
  Announce,
  Create,
  createFederation,
  Delete,
  Endpoints,
  Follow,
  getDocumentLoader,
  isActor,
  Like,
  lookupWebFinger,
  MemoryKvStore,
  Mention,
  Note,
  Object as APObject,
  parseSemVer,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  signRequest,
  Tombstone,
  Undo,
  Update,
  verifyRequest,
} from "@fedify/fedify";
// A later Fedify, for its RFC 9421 verifier (this peer is built on 1.5.9).
import { signRequest as signRequestRfc9421, verifyRequest as verifyRequestRfc9421 } from "fedify-rfc9421";

// Fedify 1.10 asks for Node.js 22; the one thing its verifier needs from it is
// ArrayBuffer.prototype.transfer (Node.js 21), which Debian's Node.js 20 lacks.
if (typeof ArrayBuffer.prototype.transfer !== "function") {
  Object.defineProperty(ArrayBuffer.prototype, "transfer", {
    value(length = this.byteLength) {
      const copy = new ArrayBuffer(length);
      new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(length, this.byteLength)));
      return copy;
    },
  });
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

const USAGE = `usage: node peer.mjs [--port N] [--public-host NAME] [--verbose] [--lenient] [--rfc9421-only] [--ttl SECONDS] [--exit-on-stdin-close]
  --port N                 port on 127.0.0.1 (0 = any free port; default 0)
  --public-host NAME       the host name in the peer's own URLs (default 127.0.0.1;
                           "localhost" for servers that require a domain name in ids)
  --verbose                log requests and Fedify's debug log to stderr
  --lenient                accept what Fedify alone accepts (Linked Data signatures or
                           Object Integrity Proofs without a valid HTTP signature);
                           by default an inbox POST also needs a valid HTTP signature,
                           as Mastodon requires
  --rfc9421-only           a server that speaks only RFC 9421 HTTP Message Signatures:
                           inbox POSTs signed otherwise get 401; RFC 9421 ones are
                           verified by Fedify 1.10's verifyRequest and logged raw
  --ttl SECONDS            exit by itself after this long (default 1800; 0 = never)
  --exit-on-stdin-close    exit when stdin reaches end of file (start it with a piped
                           stdin and it dies with its parent)`;

let args;
try {
  args = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      "public-host": { type: "string", default: "127.0.0.1" },
      verbose: { type: "boolean", default: false },
      lenient: { type: "boolean", default: false },
      "rfc9421-only": { type: "boolean", default: false },
      ttl: { type: "string", default: "1800" },
      "exit-on-stdin-close": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  process.stderr.write(`${error.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const PORT = Number(args.port);
const TTL_SECONDS = Number(args.ttl);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535 || !Number.isFinite(TTL_SECONDS) || TTL_SECONDS < 0) {
  process.stderr.write(`bad --port or --ttl\n${USAGE}\n`);
  process.exit(2);
}
const VERBOSE = args.verbose;
const STRICT_HTTP_SIGNATURES = !args.lenient;
const RFC9421_ONLY = args["rfc9421-only"];

const HOST = "127.0.0.1";
const PUBLIC_HOST = args["public-host"];
if (!isLoopbackName(PUBLIC_HOST)) {
  process.stderr.write(`--public-host must name loopback (localhost or 127.x.x.x)\n${USAGE}\n`);
  process.exit(2);
}
function isLoopbackName(name) {
  return name === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
const USERNAME = "alice";
const USER_AGENT = "fedblog-test-peer/0.1 (Fedify/1.5.9; +loopback)";
const FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;
const MAX_CAPTURED_LOG_LINES = 60;

function debug(line) {
  if (VERBOSE) process.stderr.write(`[peer] ${line}\n`);
}

// ---------------------------------------------------------------------------
// Per-request context: which inbound request or control call we are in, so the
// Fedify log lines and the inbox listeners can be tied to it.
// ---------------------------------------------------------------------------

const requestScope = new AsyncLocalStorage();

function renderLogValue(value) {
  if (typeof value === "string") return value;
  if (value instanceof URL) return value.href;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 300 ? `${text.slice(0, 300)}...` : text;
  } catch {
    return String(value);
  }
}

function renderLogRecord(record) {
  return record.message.map((part, i) => (i % 2 === 0 ? String(part) : renderLogValue(part))).join("");
}

// Fedify logs why it refuses a signature (digest mismatch, Date out of window,
// headers missing...) at debug level: keep those lines with the request.
function captureSink(record) {
  const scope = requestScope.getStore();
  if (scope == null || scope.logs.length >= MAX_CAPTURED_LOG_LINES) return;
  scope.logs.push(`${record.level} ${record.category.join(".")}: ${renderLogRecord(record)}`);
}

function stderrSink(record) {
  process.stderr.write(
    `[${record.level}] ${record.category.join(".")}: ${renderLogRecord(record)}\n`,
  );
}

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { capture: captureSink, stderr: stderrSink },
  loggers: [
    {
      category: ["fedify"],
      lowestLevel: "debug",
      sinks: VERBOSE ? ["capture", "stderr"] : ["capture"],
    },
    // LogTape's own logger writes to stdout unless configured: keep stdout to the ready line.
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});

// ---------------------------------------------------------------------------
// Outgoing HTTP: every request Fedify (or we) make goes through this fetch.
//  - loopback only: anything else is refused (this workplace allows no other traffic);
//  - a 10 s timeout covering the whole exchange, body included;
//  - at most 3 redirects per chain;
//  - WebFinger (and host-meta) over https to a loopback host is sent over http,
//    because Fedify's lookupWebFinger always uses https for acct: handles.
// ---------------------------------------------------------------------------

const nativeFetch = globalThis.fetch.bind(globalThis);
const redirectHops = new Map(); // target URL -> { hops, at }
const lastResponses = new Map(); // URL without fragment -> { status, contentType, location, at }

function isLoopbackHost(hostname) {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function stripHash(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

function remember(map, key, value) {
  map.set(key, { ...value, at: Date.now() });
  if (map.size > 2000) {
    const cutoff = Date.now() - 120_000;
    for (const [k, v] of map) if (v.at < cutoff) map.delete(k);
  }
}

async function fetchOnce(request, signal) {
  const url = request.url;
  if (!/^https?:$/.test(new URL(url).protocol) || !isLoopbackHost(new URL(url).hostname)) {
    throw new Error(`test peer refuses to fetch ${url}: only http(s) on loopback is allowed here`);
  }
  const started = Date.now();
  let response;
  try {
    response = await nativeFetch(request, { redirect: "manual", signal });
  } catch (error) {
    if (signal.aborted && signal.reason?.name === "TimeoutError") {
      throw new Error(`${request.method} ${url} timed out after ${FETCH_TIMEOUT_MS / 1000} s`);
    }
    throw new Error(`${request.method} ${url} failed: ${error.cause?.message ?? error.message}`);
  }
  const location = response.headers.get("location");
  remember(lastResponses, stripHash(url), {
    status: response.status,
    contentType: response.headers.get("content-type"),
    location,
  });
  debug(`out ${request.method} ${url} -> ${response.status} (${Date.now() - started} ms)`);
  return response;
}

function redirectTarget(response, base) {
  if (response.status < 300 || response.status >= 400) return null;
  const location = response.headers.get("location");
  return location == null ? null : new URL(location, base).href;
}

globalThis.fetch = async function guardedFetch(input, init = undefined) {
  let request = new Request(input, init);
  const url = new URL(request.url);
  if (
    url.protocol === "https:" && isLoopbackHost(url.hostname) &&
    (url.pathname === "/.well-known/webfinger" || url.pathname.startsWith("/.well-known/host-meta")) &&
    (request.method === "GET" || request.method === "HEAD")
  ) {
    url.protocol = "http:";
    request = new Request(url.href, {
      method: request.method,
      headers: request.headers,
      redirect: request.redirect,
      signal: request.signal,
    });
  }
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
  const mode = request.redirect;
  let response = await fetchOnce(request, signal);
  let target = redirectTarget(response, request.url);
  if (target == null) return response;

  if (mode === "manual") {
    // Fedify follows by itself (document loaders re-sign each hop): count the chain here.
    const hops = (redirectHops.get(request.url)?.hops ?? 0) + 1;
    if (hops > MAX_REDIRECTS) {
      throw new Error(`too many redirects (more than ${MAX_REDIRECTS}) fetching ${request.url}`);
    }
    remember(redirectHops, target, { hops });
    // Fedify 1.5.9's document loader passes Location to fetch as is, so a relative
    // Location ("/posts/1") fails to parse there: hand it the absolute URL.
    const headers = new Headers(response.headers);
    headers.set("location", target);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
  if (mode === "error") throw new Error(`unexpected redirect from ${request.url} to ${target}`);
  // "follow": only GET and HEAD are followed (an inbox POST that redirects fails).
  if (request.method !== "GET" && request.method !== "HEAD") return response;
  for (let hops = 1; target != null; hops++) {
    if (hops > MAX_REDIRECTS) {
      throw new Error(`too many redirects (more than ${MAX_REDIRECTS}) fetching ${input.url ?? input}`);
    }
    request = new Request(target, { method: request.method, headers: request.headers });
    response = await fetchOnce(request, signal);
    target = redirectTarget(response, request.url);
  }
  return response;
};

function httpMetaFor(url) {
  const meta = lastResponses.get(stripHash(url));
  return meta == null ? null : { status: meta.status, contentType: meta.contentType };
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

const inboxLog = []; // verified activities, in arrival order
const rejections = []; // inbox POSTs that were refused
let rejectedCount = 0;
let duplicateCount = 0;
let sequence = 0;

const followers = new Map(); // actor id -> { id, inbox, sharedInbox, followId }
const following = new Map(); // target actor id -> { followId, follow, target, state }
const notes = new Map(); // uuid -> { note, create, recipients, deleted }
const sentActivities = new Map(); // activity id -> { activity, recipients }

const keyPair = await crypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);

// ---------------------------------------------------------------------------
// Fedify
// ---------------------------------------------------------------------------

let federation = null; // created once the port is known
let ORIGIN = null;

function buildFederation(origin) {
  const fed = createFederation({
    kv: new MemoryKvStore(),
    origin,
    allowPrivateAddress: true,
    userAgent: USER_AGENT,
    // No remote-document cache: a test that edits or deletes something and fetches it
    // again must see the new state. (Contexts Fedify preloads are still served locally.)
    documentLoaderFactory: () => getDocumentLoader({ allowPrivateAddress: true, userAgent: USER_AGENT }),
  });

  fed
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== USERNAME) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Alice (test peer)",
        summary: "<p>A Fedify-based test peer for fedblog.</p>",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        followers: ctx.getFollowersUri(identifier),
        following: ctx.getFollowingUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        manuallyApprovesFollowers: false,
        discoverable: true,
        published: Temporal.Instant.from("2024-01-01T00:00:00Z"),
        publicKey: keys[0].cryptographicKey,
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) => (identifier === USERNAME ? [keyPair] : []));

  fed.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) => {
    if (values.identifier !== USERNAME) return null;
    const entry = notes.get(values.id);
    return entry == null || entry.deleted ? null : entry.note;
  });
  fed.setObjectDispatcher(Create, "/users/{identifier}/notes/{id}/activity", (_ctx, values) => {
    if (values.identifier !== USERNAME) return null;
    const entry = notes.get(values.id);
    return entry == null || entry.deleted ? null : entry.create;
  });

  fed
    .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
      if (identifier !== USERNAME) return null;
      return {
        items: [...followers.values()].map((f) => ({
          id: new URL(f.id),
          inboxId: f.inbox == null ? null : new URL(f.inbox),
          endpoints: { sharedInbox: f.sharedInbox == null ? null : new URL(f.sharedInbox) },
        })),
      };
    })
    .setCounter((_ctx, identifier) => (identifier === USERNAME ? followers.size : null));

  fed
    .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
      if (identifier !== USERNAME) return null;
      return {
        items: [...following.values()].filter((f) => f.state === "accepted").map((f) => new URL(f.target)),
      };
    });

  fed
    .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
      if (identifier !== USERNAME) return null;
      return {
        items: [...notes.values()].filter((n) => !n.deleted && n.visibility === "public").map((n) => n.create),
      };
    });

  fed.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
    software: { name: "fedblog-test-peer", version: parseSemVer("0.1.0") },
    protocols: ["activitypub"],
    openRegistrations: false,
    usage: { users: { total: 1, activeMonth: 1, activeHalfyear: 1 }, localPosts: notes.size, localComments: 0 },
  }));

  const inbox = fed
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    // Fetches made while handling the shared inbox are signed as alice, like Mastodon's.
    .setSharedKeyDispatcher(() => ({ identifier: USERNAME }));

  const listen = (cls, sideEffect) =>
    inbox.on(cls, async (ctx, activity) => {
      const entry = await recordActivity(ctx, activity);
      if (sideEffect != null) {
        try {
          await sideEffect(ctx, activity, entry);
        } catch (error) {
          process.stderr.write(`[peer] handling ${entry.type} ${entry.id}: ${error.stack ?? error}\n`);
        }
      }
    });

  listen(Follow, onFollow);
  listen(Accept, onAccept);
  listen(Reject, onReject);
  listen(Undo, onUndo);
  for (const cls of [Create, Update, Delete, Announce, Like]) listen(cls);
  listen(Activity); // catch-all: Fedify dispatches to the closest registered superclass

  inbox.onError((_ctx, error) => {
    process.stderr.write(`[peer] inbox error: ${error.message ?? error}\n`);
  });

  return fed;
}

function compactValue(value) {
  return value === undefined ? null : value;
}

async function recordActivity(ctx, activity) {
  const scope = requestScope.getStore();
  let raw = null;
  try {
    raw = scope?.raw == null ? null : JSON.parse(scope.raw);
  } catch {
    raw = null;
  }
  let compacted = null;
  try {
    compacted = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  } catch (error) {
    compacted = { error: `toJsonLd failed: ${error.message}` };
  }
  const entry = {
    seq: ++sequence,
    type: typeof raw?.type === "string" ? raw.type : activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: compactValue(compacted?.object),
    activity: compacted,
    raw,
    recipient: ctx.recipient ?? null,
    inbox: scope?.path ?? null,
    receivedAt: new Date().toISOString(),
    signed: true,
    httpSignature: scope?.httpSignature ?? null,
  };
  inboxLog.push(entry);
  debug(`logged #${entry.seq} ${entry.type} ${entry.id} from ${entry.actor}`);
  return entry;
}

function actorRecord(actor) {
  return {
    id: actor.id?.href ?? null,
    inbox: actor.inboxId?.href ?? null,
    sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
  };
}

async function onFollow(ctx, follow) {
  if (follow.objectId?.href !== ctx.getActorUri(USERNAME).href) return;
  const follower = await follow.getActor({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
  if (follower == null || follower.id == null) throw new Error("cannot resolve the follower");
  followers.set(follower.id.href, { ...actorRecord(follower), followId: follow.id?.href ?? null });
  // Accept after answering the Follow's request, as Mastodon does (it queues the Accept).
  const accept = new Accept({
    id: new URL(`/users/${USERNAME}/accepts/${randomUUID()}`, ORIGIN),
    actor: ctx.getActorUri(USERNAME),
    object: follow,
  });
  setTimeout(() => {
    ctx.sendActivity({ identifier: USERNAME }, follower, accept).then(
      () => debug(`accepted follow ${follow.id?.href}`),
      (error) => process.stderr.write(`[peer] sending Accept to ${follower.id.href} failed: ${error.message}\n`),
    );
  }, 10);
}

function findFollowByActivityId(id) {
  for (const f of following.values()) if (f.followId === id) return f;
  return null;
}

async function onAccept(_ctx, accept) {
  const f = findFollowByActivityId(accept.objectId?.href);
  if (f != null && f.target === accept.actorId?.href) f.state = "accepted";
}

async function onReject(_ctx, reject) {
  const f = findFollowByActivityId(reject.objectId?.href);
  if (f != null && f.target === reject.actorId?.href) f.state = "rejected";
}

async function onUndo(ctx, undo) {
  const object = await undo.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader })
    .catch(() => null);
  if (object instanceof Follow && undo.actorId != null && object.actorId?.href === undo.actorId.href) {
    followers.delete(undo.actorId.href);
  }
}

// ---------------------------------------------------------------------------
// Inbox requests: checked here (strict HTTP signature), then handed to Fedify.
// ---------------------------------------------------------------------------

const verifiedKeyCache = new Map();
const keyCache = {
  get: (keyId) => Promise.resolve(verifiedKeyCache.get(keyId.href)),
  set: (keyId, key) => {
    if (key == null) verifiedKeyCache.delete(keyId.href);
    else verifiedKeyCache.set(keyId.href, key);
    return Promise.resolve();
  },
};

function parseSignatureHeader(header) {
  if (header == null) return null;
  const fields = {};
  for (const pair of header.split(",")) {
    const m = pair.match(/^\s*([A-Za-z]+)=(?:"([^"]*)"|(\d+))\s*$/);
    if (m) fields[m[1]] = m[2] ?? m[3];
  }
  return {
    keyId: fields.keyId ?? null,
    algorithm: fields.algorithm ?? null,
    headers: fields.headers?.split(/\s+/) ?? null,
  };
}

// An inbox that takes only RFC 9421 signatures (--rfc9421-only).
async function handleRfc9421Inbox(request, scope, json, ctx, loader) {
  if (!request.headers.has("signature-input")) {
    reject(scope, 401, "not an RFC 9421 signature (--rfc9421-only)");
    return new Response("Only RFC 9421 HTTP Message Signatures are accepted.", { status: 401 });
  }
  let key = null;
  try {
    key = await verifyRequestRfc9421(request.clone(), {
      documentLoader: loader,
      contextLoader: ctx.contextLoader,
      spec: "rfc9421",
      timeWindow: { hours: 1 },
    });
  } catch (error) {
    scope.logs.push(`verifyRequest (RFC 9421) threw: ${error.message}`);
  }
  scope.httpSignature = { spec: "rfc9421", verified: key != null, owner: key?.ownerId?.href ?? null };
  if (key == null || json == null) {
    reject(scope, 401, "RFC 9421 signature not verified");
    return new Response("Failed to verify the request's RFC 9421 signature.", { status: 401 });
  }
  return logRaw(scope, json, key, "RFC 9421");
}

// Logs a verified activity that is not handed to Fedify 1.5.9, and answers 202.
function logRaw(scope, json, key, why) {
  const actorId = typeof json.actor === "string" ? json.actor : json.actor?.id;
  if (key.ownerId?.href !== actorId) {
    reject(scope, 401, `signed by ${key.ownerId?.href} but the activity's actor is ${actorId}`);
    return new Response("The signer and the actor do not match.", { status: 401 });
  }
  const entry = {
    seq: ++sequence,
    type: json.type,
    id: scope.activityId,
    actor: actorId,
    object: json.object,
    activity: null,
    raw: json,
    recipient: null,
    inbox: scope.path,
    receivedAt: new Date().toISOString(),
    signed: true,
    httpSignature: scope.httpSignature,
  };
  inboxLog.push(entry);
  debug(`logged #${entry.seq} ${entry.type} ${entry.id} from ${entry.actor} (${why}, outside Fedify 1.5.9)`);
  return new Response(null, { status: 202 });
}

function isQuoteAnswer(json) {
  return (json?.type === "Accept" || json?.type === "Reject") && json?.object?.type === "QuoteRequest";
}

function isInboxPath(pathname) {
  return pathname === "/inbox" || /^\/users\/[^/]+\/inbox$/.test(pathname);
}

function reject(scope, status, reason) {
  rejectedCount++;
  rejections.push({
    status,
    reason,
    path: scope.path,
    keyId: scope.httpSignature?.keyId ?? null,
    activityId: scope.activityId,
    activityType: scope.activityType,
    receivedAt: new Date().toISOString(),
    log: scope.logs.filter((l) => /sig|inbox/.test(l)),
  });
  debug(`rejected ${scope.path} (${status}): ${reason}`);
}

async function handleInbox(request, url) {
  const raw = await request.clone().text();
  let json = null;
  try {
    json = JSON.parse(raw);
  } catch {
    // Fedify answers 400 for this below.
  }
  const scope = {
    kind: "inbox",
    path: url.pathname,
    raw,
    logs: [],
    activityId: typeof json?.id === "string" ? json.id : null,
    activityType: typeof json?.type === "string" ? json.type : null,
    httpSignature: null,
  };
  return await requestScope.run(scope, async () => {
    const sig = parseSignatureHeader(request.headers.get("signature"));
    const ctx = federation.createContext(new URL(ORIGIN), undefined);
    const loader = await ctx.getDocumentLoader({ identifier: USERNAME });
    if (RFC9421_ONLY) return await handleRfc9421Inbox(request, scope, json, ctx, loader);
    let key = null;
    try {
      key = await verifyRequest(request.clone(), {
        documentLoader: loader,
        contextLoader: ctx.contextLoader,
        timeWindow: { hours: 1 },
        keyCache,
      });
    } catch (error) {
      scope.logs.push(`verifyRequest threw: ${error.message}`);
    }
    scope.httpSignature = sig == null ? null : { ...sig, verified: key != null, owner: key?.ownerId?.href ?? null };

    if (STRICT_HTTP_SIGNATURES) {
      if (key == null) {
        reject(scope, 401, sig == null ? "no HTTP Signature header" : "HTTP signature not verified");
        return new Response("Failed to verify the request's HTTP signature.", { status: 401 });
      }
      const actorId = typeof json?.actor === "string" ? json.actor : json?.actor?.id;
      if (key.ownerId != null && actorId != null && key.ownerId.href !== actorId) {
        reject(scope, 401, `signed by ${key.ownerId.href} but the activity's actor is ${actorId}`);
        return new Response("The signer and the actor do not match.", { status: 401 });
      }
    }

    // FEP-044f answers (Accept/Reject of a QuoteRequest) postdate this Fedify
    // release, whose vocabulary refuses the embedded QuoteRequest with 400.
    // Fedify has verified the signature above; log the raw activity as Fedify
    // would have, so tests can read what a quoting server receives.
    if (key != null && isQuoteAnswer(json)) return logRaw(scope, json, key, "FEP-044f");

    const response = await federation.fetch(request, { contextData: undefined });
    if (response.status >= 400) {
      const body = await response.clone().text().catch(() => "");
      reject(scope, response.status, body.trim() || `HTTP ${response.status}`);
    } else if (response.status === 202) {
      const body = await response.clone().text().catch(() => "");
      if (/already been processed/.test(body)) duplicateCount++;
    }
    return response;
  });
}

// ---------------------------------------------------------------------------
// Control API
// ---------------------------------------------------------------------------

class ControlError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

function json(status, body) {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8" },
  });
}

async function readBody(request) {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const body = JSON.parse(text);
    if (body == null || typeof body !== "object" || Array.isArray(body)) throw new Error("not an object");
    return body;
  } catch (error) {
    throw new ControlError(400, `request body must be a JSON object: ${error.message}`);
  }
}

function requireString(body, name) {
  const value = body[name];
  if (typeof value !== "string" || value === "") throw new ControlError(400, `"${name}" (string) is required`);
  return value;
}

function controlContext() {
  return federation.createContext(new URL(ORIGIN), undefined);
}

async function loaderFor(ctx, signed) {
  return signed === false
    ? getDocumentLoader({ allowPrivateAddress: true, userAgent: USER_AGENT })
    : await ctx.getDocumentLoader({ identifier: USERNAME });
}

function statusFromError(error) {
  const m = /HTTP (\d{3})/.exec(error?.message ?? "");
  return m ? Number(m[1]) : null;
}

// Fetches a document and parses it with Fedify. Returns the raw JSON too.
async function fetchDocument(ctx, url, { signed = true } = {}) {
  const loader = await loaderFor(ctx, signed);
  let remote;
  try {
    remote = await loader(url);
  } catch (error) {
    throw new ControlError(502, `fetching ${url} failed: ${error.message}`, {
      url,
      status: statusFromError(error) ?? httpMetaFor(url)?.status ?? null,
    });
  }
  const meta = httpMetaFor(remote.documentUrl ?? url) ?? httpMetaFor(url);
  let object = null;
  let parseError = null;
  try {
    object = await APObject.fromJsonLd(remote.document, { documentLoader: loader, contextLoader: ctx.contextLoader });
  } catch (error) {
    parseError = error.message;
  }
  return {
    url,
    finalUrl: remote.documentUrl ?? url,
    status: meta?.status ?? null,
    contentType: meta?.contentType ?? null,
    json: remote.document,
    object,
    parseError,
    loader,
  };
}

function str(value) {
  return value == null ? null : String(value);
}

function href(value) {
  return value == null ? null : value.href ?? String(value);
}

function instant(value) {
  return value == null ? null : value.toString();
}

async function describeActor(actor, ctx, loader) {
  let publicKey = null;
  try {
    const key = await actor.getPublicKey({ documentLoader: loader, contextLoader: ctx.contextLoader });
    if (key != null) {
      const alg = key.publicKey?.algorithm;
      publicKey = {
        id: href(key.id),
        owner: href(key.ownerId),
        algorithm: alg?.name ?? null,
        modulusLength: alg?.modulusLength ?? null,
      };
    }
  } catch (error) {
    publicKey = { error: error.message };
  }
  return {
    id: href(actor.id),
    type: actor.constructor.name,
    preferredUsername: str(actor.preferredUsername),
    name: str(actor.name),
    summary: str(actor.summary),
    url: href(actor.url),
    inbox: href(actor.inboxId),
    sharedInbox: href(actor.endpoints?.sharedInbox),
    outbox: href(actor.outboxId),
    followers: href(actor.followersId),
    following: href(actor.followingId),
    featured: href(actor.featuredId),
    publicKeyId: href(actor.publicKeyId),
    publicKey,
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers ?? null,
    discoverable: actor.discoverable ?? null,
    published: instant(actor.published),
  };
}

async function describeObject(object, ctx, loader) {
  if (isActor(object)) return await describeActor(object, ctx, loader);
  const d = { id: href(object.id), type: object.constructor.name };
  const props = {
    name: () => str(object.name),
    summary: () => str(object.summary),
    content: () => str(object.content),
    url: () => href(object.url),
    attributedTo: () => href(object.attributionId),
    inReplyTo: () => href(object.replyTargetId),
    published: () => instant(object.published),
    updated: () => instant(object.updated),
    to: () => object.toIds?.map(href),
    cc: () => object.ccIds?.map(href),
    replies: () => href(object.repliesId ?? object.replies?.id),
    sensitive: () => object.sensitive,
    actor: () => href(object.actorId),
    object: () => href(object.objectId),
    totalItems: () => object.totalItems,
    first: () => href(object.firstId),
    next: () => href(object.nextId),
    partOf: () => href(object.partOfId),
    itemIds: () => object.itemIds?.map(href),
  };
  for (const [name, get] of Object.entries(props)) {
    try {
      const value = get();
      if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) d[name] = value;
    } catch {
      // property not defined on this type
    }
  }
  if (typeof object.getTags === "function") {
    const tags = [];
    try {
      for await (const tag of object.getTags({ documentLoader: loader, contextLoader: ctx.contextLoader })) {
        tags.push({ type: tag.constructor.name, name: str(tag.name), href: href(tag.href ?? tag.id) });
      }
    } catch (error) {
      tags.push({ error: error.message });
    }
    if (tags.length > 0) d.tags = tags;
  }
  if (typeof object.getAttachments === "function") {
    const attachments = [];
    try {
      for await (const a of object.getAttachments({ documentLoader: loader, contextLoader: ctx.contextLoader })) {
        attachments.push({
          type: a.constructor.name,
          name: str(a.name),
          url: href(a.url),
          mediaType: a.mediaType ?? null,
          value: a.value === undefined ? undefined : str(a.value),
        });
      }
    } catch (error) {
      attachments.push({ error: error.message });
    }
    if (attachments.length > 0) d.attachments = attachments;
  }
  return d;
}

function parseHandle(handle) {
  const m = /^(?:acct:)?@?([^@\s]+)@([^@\s]+)$/.exec(handle.trim());
  if (!m) throw new ControlError(400, `not a handle: ${handle} (expected user@host:port)`);
  return { user: m[1], host: m[2], resource: `acct:${m[1]}@${m[2]}` };
}

function selfLink(jrd) {
  for (const link of jrd?.links ?? []) {
    if (link.rel !== "self" || typeof link.href !== "string") continue;
    if (
      link.type === "application/activity+json" ||
      /^application\/ld\+json;\s*profile="https:\/\/www\.w3\.org\/ns\/activitystreams"/.test(link.type ?? "")
    ) return link.href;
  }
  return null;
}

async function webfinger(resource) {
  const jrd = await lookupWebFinger(resource, { allowPrivateAddress: true, userAgent: USER_AGENT });
  return jrd;
}

// Resolves an actor given as an actor URL or as a handle (user@host).
async function resolveActor(ctx, actorRef, { signed = true } = {}) {
  let url = actorRef;
  let jrd = null;
  if (!/^https?:\/\//.test(actorRef)) {
    const { resource } = parseHandle(actorRef);
    jrd = await webfinger(resource);
    if (jrd == null) {
      throw new ControlError(502, `WebFinger lookup of ${resource} failed`, { webfinger: null });
    }
    url = selfLink(jrd);
    if (url == null) throw new ControlError(502, `WebFinger answer for ${resource} has no ActivityPub self link`, { webfinger: jrd });
  }
  const doc = await fetchDocument(ctx, url, { signed });
  if (doc.object == null || !isActor(doc.object)) {
    throw new ControlError(502, `${url} is not an actor Fedify understands` +
      (doc.parseError ? `: ${doc.parseError}` : ` (type ${doc.json?.type})`), { actor: doc.json });
  }
  if (doc.object.id == null || doc.object.inboxId == null) {
    throw new ControlError(502, `actor ${url} has no id or no inbox`, { actor: doc.json });
  }
  return { ...doc, actor: doc.object, webfinger: jrd };
}

async function send(ctx, recipients, activity, { preferSharedInbox = false } = {}) {
  try {
    await ctx.sendActivity({ identifier: USERNAME }, recipients, activity, { preferSharedInbox });
  } catch (error) {
    throw new ControlError(502, `delivering ${activity.id?.href} failed: ${error.message}`, {
      activityId: activity.id?.href ?? null,
    });
  }
  const list = Array.isArray(recipients) ? recipients : [recipients];
  const inboxes = [...new Set(list.map((r) =>
    (preferSharedInbox && r.endpoints?.sharedInbox != null ? r.endpoints.sharedInbox : r.inboxId)?.href
  ).filter(Boolean))];
  sentActivities.set(activity.id.href, { activity, recipients: list, preferSharedInbox });
  return inboxes;
}

function followerRecipients() {
  return [...followers.values()].map((f) => ({
    id: new URL(f.id),
    inboxId: f.inbox == null ? null : new URL(f.inbox),
    endpoints: { sharedInbox: f.sharedInbox == null ? null : new URL(f.sharedInbox) },
  }));
}

function addressing(visibility, followersUri, authorId) {
  switch (visibility) {
    case "public":
      return { tos: [PUBLIC_COLLECTION], ccs: [followersUri, ...(authorId ? [authorId] : [])] };
    case "unlisted":
      return { tos: [followersUri], ccs: [PUBLIC_COLLECTION, ...(authorId ? [authorId] : [])] };
    case "followers":
      return { tos: [followersUri], ccs: authorId ? [authorId] : [] };
    case "direct":
      return { tos: authorId ? [authorId] : [], ccs: [] };
    default:
      throw new ControlError(400, `"visibility" must be public, unlisted, followers or direct`);
  }
}

function handleOf(actor) {
  const username = str(actor.preferredUsername);
  return username == null ? null : `@${username}@${actor.id.host}`;
}

async function authorOf(ctx, objectUrl, signed) {
  const doc = await fetchDocument(ctx, objectUrl, { signed });
  const authorId = doc.object?.attributionId?.href ?? doc.object?.actorId?.href;
  if (authorId == null) throw new ControlError(502, `cannot tell who wrote ${objectUrl}; give "to"`);
  return authorId;
}

const control = {
  "GET /control/inbox": async () => json(200, {
    activities: inboxLog,
    rejected: rejectedCount,
    rejections,
    duplicates: duplicateCount,
  }),

  "DELETE /control/inbox": async () => {
    inboxLog.length = 0;
    rejections.length = 0;
    rejectedCount = 0;
    duplicateCount = 0;
    return json(200, { cleared: true });
  },

  "GET /control/state": async () => json(200, {
    actor: new URL(`/users/${USERNAME}`, ORIGIN).href,
    handle: `${USERNAME}@${new URL(ORIGIN).host}`,
    inbox: new URL(`/users/${USERNAME}/inbox`, ORIGIN).href,
    sharedInbox: new URL("/inbox", ORIGIN).href,
    strictHttpSignatures: STRICT_HTTP_SIGNATURES,
    followers: [...followers.values()],
    following: [...following.values()].map(({ followId, target, state, inbox }) => ({ followId, actor: target, state, inbox })),
    notes: [...notes.values()].map((n) => ({ noteId: n.note.id.href, activityId: n.create.id.href, visibility: n.visibility, deleted: n.deleted })),
  }),

  "POST /control/lookup": async (body) => {
    const ctx = controlContext();
    const signed = body.signed !== false;
    let jrd = null;
    let actorUrl;
    if (typeof body.handle === "string" && body.handle !== "") {
      const { resource } = parseHandle(body.handle);
      jrd = await webfinger(resource);
      if (jrd == null) throw new ControlError(502, `WebFinger lookup of ${resource} failed`, { webfinger: null, actor: null });
      actorUrl = selfLink(jrd);
      if (actorUrl == null) {
        throw new ControlError(502, `WebFinger answer for ${resource} has no ActivityPub self link`, { webfinger: jrd, actor: null });
      }
    } else if (typeof body.url === "string" && body.url !== "") {
      actorUrl = body.url;
    } else {
      throw new ControlError(400, `give "handle" or "url"`);
    }
    const { actor, json: actorJson, status, contentType, finalUrl, loader } = await resolveActor(ctx, actorUrl, { signed });
    // Mastodon's round trip: WebFinger acct:preferredUsername@host must lead back to the same actor.
    let roundTrip = null;
    const username = str(actor.preferredUsername);
    if (username != null) {
      const resource = `acct:${username}@${actor.id.host}`;
      const back = body.handle != null && jrd != null && parseHandle(body.handle).resource === resource
        ? jrd
        : await webfinger(resource);
      const selfHref = selfLink(back);
      roundTrip = { resource, selfHref, ok: selfHref === actor.id.href };
      if (jrd == null) jrd = back;
    }
    return json(200, {
      webfinger: jrd,
      actor: actorJson,
      parsed: await describeActor(actor, ctx, loader),
      http: { status, contentType, finalUrl, idMatchesUrl: actor.id.href === finalUrl },
      roundTrip,
    });
  },

  "POST /control/fetch": async (body) => {
    const url = requireString(body, "url");
    const ctx = controlContext();
    const doc = await fetchDocument(ctx, url, { signed: body.signed !== false });
    let fedifyJson = null;
    if (doc.object != null) {
      try {
        fedifyJson = await doc.object.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
      } catch (error) {
        fedifyJson = { error: error.message };
      }
    }
    return json(200, {
      type: typeof doc.json?.type === "string" ? doc.json.type : doc.object?.constructor.name ?? null,
      id: doc.object?.id?.href ?? (typeof doc.json?.id === "string" ? doc.json.id : null),
      json: doc.json,
      http: {
        status: doc.status,
        contentType: doc.contentType,
        finalUrl: doc.finalUrl,
        idMatchesUrl: (doc.object?.id?.href ?? doc.json?.id) === doc.finalUrl,
      },
      parsed: doc.object == null ? null : await describeObject(doc.object, ctx, doc.loader),
      parseError: doc.parseError,
      fedifyJson,
    });
  },

  "POST /control/follow": async (body) => {
    const ctx = controlContext();
    const { actor } = await resolveActor(ctx, requireString(body, "actor"));
    const followId = new URL(`/users/${USERNAME}/follows/${randomUUID()}`, ORIGIN);
    const follow = new Follow({ id: followId, actor: ctx.getActorUri(USERNAME), object: actor.id });
    following.set(actor.id.href, {
      followId: followId.href,
      follow,
      target: actor.id.href,
      actor,
      state: "pending",
      inbox: actor.inboxId.href,
    });
    try {
      await send(ctx, actor, follow, { preferSharedInbox: body.sharedInbox === true });
    } catch (error) {
      following.delete(actor.id.href);
      throw error;
    }
    return json(200, { followId: followId.href, actor: actor.id.href, inbox: actor.inboxId.href });
  },

  "POST /control/unfollow": async (body) => {
    const ctx = controlContext();
    const ref = requireString(body, "actor");
    let entry = following.get(ref) ?? [...following.values()].find((f) => f.followId === body.followId);
    if (entry == null && !/^https?:\/\//.test(ref)) {
      const { actor } = await resolveActor(ctx, ref);
      entry = following.get(actor.id.href);
    }
    if (entry == null) throw new ControlError(404, `alice has not followed ${ref}`);
    const undoId = new URL(`${entry.followId}/undo`);
    const undo = new Undo({ id: undoId, actor: ctx.getActorUri(USERNAME), object: entry.follow });
    await send(ctx, entry.actor, undo, { preferSharedInbox: body.sharedInbox === true });
    following.delete(entry.target);
    return json(200, { undoId: undoId.href, followId: entry.followId });
  },

  "POST /control/reply": async (body) => {
    const ctx = controlContext();
    const content = requireString(body, "content");
    const visibility = body.visibility ?? "public";
    const inReplyTo = typeof body.inReplyTo === "string" && body.inReplyTo !== "" ? body.inReplyTo : null;
    let authorRef = typeof body.to === "string" && body.to !== "" ? body.to : null;
    if (authorRef == null) {
      if (inReplyTo == null) throw new ControlError(400, `give "to" (the author's actor URL) or "inReplyTo"`);
      authorRef = await authorOf(ctx, inReplyTo, body.signed !== false);
    }
    const { actor: author } = await resolveActor(ctx, authorRef);
    const mention = body.mention !== false;
    const uuid = randomUUID();
    const noteId = ctx.getObjectUri(Note, { identifier: USERNAME, id: uuid });
    const createId = ctx.getObjectUri(Create, { identifier: USERNAME, id: uuid });
    const aliceId = ctx.getActorUri(USERNAME);
    const { tos, ccs } = addressing(visibility, ctx.getFollowersUri(USERNAME), mention || visibility === "direct" ? author.id : null);
    const published = Temporal.Now.instant();
    const handle = handleOf(author);
    const note = new Note({
      id: noteId,
      attribution: aliceId,
      content,
      summary: typeof body.summary === "string" ? body.summary : null,
      replyTarget: inReplyTo == null ? null : new URL(inReplyTo),
      published,
      url: noteId,
      tos,
      ccs,
      tags: mention ? [new Mention({ href: author.id, name: handle })] : [],
    });
    const create = new Create({ id: createId, actor: aliceId, object: note, published, tos, ccs });
    const recipients = visibility === "direct" ? [author] : [author, ...followerRecipients()];
    notes.set(uuid, { note, create, recipients, visibility, deleted: false });
    // "deliver": false only publishes the note at its id (others find it by fetching).
    const inboxes = body.deliver === false
      ? []
      : await send(ctx, recipients, create, { preferSharedInbox: body.sharedInbox !== false });
    return json(200, { noteId: noteId.href, activityId: createId.href, inboxes });
  },

  "POST /control/update": async (body) => {
    const ctx = controlContext();
    const entry = noteEntry(requireString(body, "noteId"));
    const updated = Temporal.Now.instant();
    const note = entry.note.clone({ content: requireString(body, "content"), updated });
    entry.note = note;
    const updateId = new URL(`${note.id.href}/updates/${updated.epochMilliseconds}`);
    const update = new Update({ id: updateId, actor: ctx.getActorUri(USERNAME), object: note, published: updated, tos: note.toIds, ccs: note.ccIds });
    const inboxes = await send(ctx, entry.recipients, update, { preferSharedInbox: body.sharedInbox !== false });
    return json(200, { noteId: note.id.href, activityId: updateId.href, inboxes });
  },

  "POST /control/delete": async (body) => {
    const ctx = controlContext();
    const entry = noteEntry(requireString(body, "noteId"));
    const noteId = entry.note.id;
    const deleteId = new URL(`${noteId.href}/delete`);
    const del = new Delete({
      id: deleteId,
      actor: ctx.getActorUri(USERNAME),
      object: new Tombstone({ id: noteId }),
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    entry.deleted = true;
    const inboxes = await send(ctx, entry.recipients, del, { preferSharedInbox: body.sharedInbox !== false });
    return json(200, { noteId: noteId.href, activityId: deleteId.href, inboxes });
  },

  "POST /control/like": async (body) => {
    const ctx = controlContext();
    const object = requireString(body, "object");
    const authorRef = typeof body.to === "string" && body.to !== "" ? body.to : await authorOf(ctx, object, body.signed !== false);
    const { actor: author } = await resolveActor(ctx, authorRef);
    const likeId = new URL(`/users/${USERNAME}/likes/${randomUUID()}`, ORIGIN);
    const like = new Like({ id: likeId, actor: ctx.getActorUri(USERNAME), object: new URL(object) });
    const inboxes = await send(ctx, author, like, { preferSharedInbox: body.sharedInbox !== false });
    return json(200, { activityId: likeId.href, inboxes });
  },

  "POST /control/announce": async (body) => {
    const ctx = controlContext();
    const object = requireString(body, "object");
    const authorRef = typeof body.to === "string" && body.to !== "" ? body.to : await authorOf(ctx, object, body.signed !== false);
    const { actor: author } = await resolveActor(ctx, authorRef);
    const announceId = new URL(`/users/${USERNAME}/announces/${randomUUID()}`, ORIGIN);
    const announce = new Announce({
      id: announceId,
      actor: ctx.getActorUri(USERNAME),
      object: new URL(object),
      published: Temporal.Now.instant(),
      tos: [PUBLIC_COLLECTION],
      ccs: [author.id, ctx.getFollowersUri(USERNAME)],
    });
    const inboxes = await send(ctx, [author, ...followerRecipients()], announce, { preferSharedInbox: body.sharedInbox !== false });
    return json(200, { activityId: announceId.href, inboxes });
  },

  "POST /control/undo": async (body) => {
    const ctx = controlContext();
    const activityId = requireString(body, "activityId");
    const sent = sentActivities.get(activityId);
    if (sent == null) throw new ControlError(404, `alice has sent no activity ${activityId}`);
    const undoId = new URL(`${activityId}/undo`);
    const undo = new Undo({ id: undoId, actor: ctx.getActorUri(USERNAME), object: sent.activity, tos: sent.activity.toIds, ccs: sent.activity.ccIds });
    const inboxes = await send(ctx, sent.recipients, undo, { preferSharedInbox: sent.preferSharedInbox });
    for (const [target, f] of following) if (f.followId === activityId) following.delete(target);
    return json(200, { activityId: undoId.href, inboxes });
  },

  // Raw delivery for negative tests: POSTs exactly the given JSON to an inbox,
  // signed as alice (draft-cavage, like Fedify's own deliveries) unless "sign": false;
  // "spec": "rfc9421" signs it with Fedify 1.10's RFC 9421 signer instead.
  "POST /control/send": async (body) => {
    const inbox = requireString(body, "inbox");
    if (body.activity == null || typeof body.activity !== "object") throw new ControlError(400, `"activity" (object) is required`);
    let request = new Request(inbox, {
      method: "POST",
      headers: { "Content-Type": "application/activity+json", "User-Agent": USER_AGENT },
      body: JSON.stringify(body.activity),
    });
    if (body.sign !== false) {
      const keyId = new URL(`/users/${USERNAME}#main-key`, ORIGIN);
      request = body.spec === "rfc9421"
        ? await signRequestRfc9421(request, keyPair.privateKey, keyId, { spec: "rfc9421" })
        : await signRequest(request, keyPair.privateKey, keyId);
    }
    let response;
    try {
      response = await fetch(request);
    } catch (error) {
      throw new ControlError(502, `POST ${inbox} failed: ${error.message}`);
    }
    return json(200, { status: response.status, body: await response.text() });
  },
};

function noteEntry(noteId) {
  for (const entry of notes.values()) if (entry.note.id.href === noteId) return entry;
  throw new ControlError(404, `alice has no note ${noteId}`);
}

async function handleControl(request, url) {
  const handler = control[`${request.method} ${url.pathname}`];
  if (handler == null) return json(404, { error: `no control endpoint ${request.method} ${url.pathname}` });
  const scope = { kind: "control", path: url.pathname, logs: [] };
  return await requestScope.run(scope, async () => {
    try {
      const body = request.method === "POST" ? await readBody(request) : {};
      return await handler(body);
    } catch (error) {
      const status = error instanceof ControlError ? error.status : 500;
      if (!(error instanceof ControlError)) process.stderr.write(`[peer] ${url.pathname}: ${error.stack ?? error}\n`);
      return json(status, {
        error: error.message,
        ...(error instanceof ControlError ? error.extra : {}),
        log: scope.logs.filter((l) => !l.startsWith("debug")).slice(-20),
      });
    }
  });
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

const DELETED_NOTE = /^\/users\/([^/]+)\/notes\/([^/]+)$/;

async function handle(request) {
  const url = new URL(request.url);
  debug(`in ${request.method} ${url.pathname}${url.search}`);
  if (federation == null) return new Response("starting", { status: 503 });
  if (url.pathname.startsWith("/control/")) return await handleControl(request, url);
  if (request.method === "POST" && isInboxPath(url.pathname)) return await handleInbox(request, url);
  const m = DELETED_NOTE.exec(url.pathname);
  if (m && m[1] === USERNAME && notes.get(m[2])?.deleted) {
    const note = notes.get(m[2]).note;
    return new Response(JSON.stringify({
      "@context": "https://www.w3.org/ns/activitystreams",
      id: note.id.href,
      type: "Tombstone",
    }), { status: 410, headers: { "Content-Type": "application/activity+json" } });
  }
  return await federation.fetch(request, { contextData: undefined });
}

let server;
const listening = new Promise((resolve, reject) => {
  server = serve({ fetch: handle, port: PORT, hostname: HOST }, (info) => resolve(info));
  server.once("error", reject);
});
let info;
try {
  info = await listening;
} catch (error) {
  process.stderr.write(`[peer] cannot listen on ${HOST}:${PORT}: ${error.message}\n`);
  process.exit(1);
}
ORIGIN = `http://${PUBLIC_HOST}:${info.port}`;
federation = buildFederation(ORIGIN);

function shutdown(signal) {
  debug(`${signal}: shutting down`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (TTL_SECONDS > 0) {
  setTimeout(() => {
    process.stderr.write(`[peer] --ttl ${TTL_SECONDS} s reached; exiting\n`);
    process.exit(0);
  }, TTL_SECONDS * 1000).unref();
}
if (args["exit-on-stdin-close"]) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}

process.stdout.write(`PEER READY ${ORIGIN}\n`);
