// Opening the NATS connection: credentials, and a failure that says what
// was tried and why (the words of the Go client's client.Reason).

import { dial, readCredentialFile } from "#transport";
import { credsAuthenticator, nkeyAuthenticator } from "@nats-io/nats-core";
import { RpbusError } from "./errors.js";

/** Seconds one connection attempt may take before connect() says why it failed. */
export const CONNECT_TIMEOUT = 2;

/** Whom a connection logs in as, without secrets. */
export function describeCredentials({ user, token, creds, nkey } = {}) {
  if (user) return `as user "${user}"`;
  if (token) return "with a token";
  if (creds) return `with credentials file ${creds}`;
  if (nkey) return `with nkey file ${nkey}`;
  return "without credentials";
}

function redact(servers) {
  return [servers]
    .flat()
    .map((s) => String(s).replace(/\/\/([^@/:]*)(:[^@/]*)?@/, (_, u, p) => (p ? `//${u}:xxxxx@` : "//xxxxx@")))
    .join(",");
}

function reason(err, given, timeout) {
  const chain = [];
  for (let e = err, i = 0; e && i < 8; e = e.cause, i++) chain.push(e);
  const text = chain.map((e) => `${e.name ?? ""} ${e.code ?? ""} ${e.message ?? ""}`).join(" ");
  if (/authoriz|authentication/i.test(text)) {
    if (!given) return "authorization required: the server wants credentials (user and password, token, creds or nkey)";
    return `authorization failed: the server rejected the credentials (${err.message})`;
  }
  if (/CERT|SSL|TLS|self-signed|certificate/i.test(text)) return `TLS failed: ${err.message} (trust the server's certificate with tls: {caFile})`;
  if (/ECONNREFUSED|connection refused/i.test(text)) return "connection refused: nothing listens there (is `rpbus up` or a nats-server running?)";
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return `unknown host: ${err.message}`;
  if (/timeout|ETIMEDOUT/i.test(text)) return `no answer within ${timeout} s (a wrong address, a firewall, or not a NATS server)`;
  return err.message;
}

/**
 * Connects once to each server, each attempt bounded by options.timeout
 * seconds (default 2); rejects with code 503 saying what was tried and why
 * it failed: refused, no answer, authorization, TLS.
 */
export async function openConnection(servers, options = {}) {
  const { user, password, token, creds, nkey, timeout = CONNECT_TIMEOUT, ...natsOptions } = options;
  const kinds = [user || password ? "user" : "", token ? "token" : "", creds ? "creds" : "", nkey ? "nkey" : ""].filter(Boolean);
  if (kinds.length > 1) throw new RpbusError(400, `credentials: give one of user and password, token, creds, nkey (got ${kinds.join(", ")})`);
  if (password && !user) throw new RpbusError(400, "credentials: a password needs a user");
  if (!(timeout > 0)) throw new RpbusError(400, `timeout: ${timeout}: want seconds > 0`);
  const auth = {};
  try {
    if (user) Object.assign(auth, { user, pass: password ?? "" });
    if (token) auth.token = token;
    if (creds) auth.authenticator = credsAuthenticator(readCredentialFile(creds));
    if (nkey) auth.authenticator = nkeyAuthenticator(new TextEncoder().encode(readCredentialFile(nkey, "utf8").trim()));
  } catch (err) {
    throw new RpbusError(400, `credentials: ${err.message}`, { cause: err });
  }
  try {
    // noAsyncTraces: nats.js would build an Error (a stack capture) per
    // request only to improve its own error stacks; RpbusError has its own.
    return await dial({ name: "rpbus-js", noAsyncTraces: true, timeout: timeout * 1000, ...natsOptions, ...auth, servers });
  } catch (err) {
    const who = describeCredentials({ user, token, creds, nkey });
    const given = kinds.length > 0 || [servers].flat().some((s) => String(s).includes("@"));
    throw new RpbusError(503, `cannot connect to NATS at ${redact(servers)} ${who}: ${reason(err, given, timeout)}`, { cause: err });
  }
}
