// Drives the stub with Microsoft's JavaScript Graph client (@microsoft/microsoft-graph-client),
// as an integrator's Node.js code would; tests/test_js_sdk.py runs it and judges what it prints.
//
//   node graph_client.cjs SCENARIO
//   env: VEVENTS_ROOT   the stub's root URL, e.g. https://127.0.0.1:8443 (no version)
//        VEVENTS_TOKEN  a bearer token the stub trusts (`vevents token`)
//        VEVENTS_EVENT  an event id (`<guid>@<tenant-guid>`)
//        NODE_EXTRA_CA_CERTS  the stub's local CA (`vevents serve --tls` prints it)
//
// Prints one JSON object: what the client returned or threw, and every HTTP exchange it made
// (status, Authorization sent or not, start and end times), seen by wrapping the global fetch
// the client calls.
"use strict";

const { Client, RetryHandlerOptions } = require("@microsoft/microsoft-graph-client");

const exchanges = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const started = Date.now();
  const response = await realFetch(request);
  exchanges.push({
    method: request.method,
    url: request.url,
    authorization: request.headers.has("authorization"),
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    started,
    ended: Date.now(),
  });
  return response;
};

function client(root) {
  return Client.initWithMiddleware({
    baseUrl: root,
    defaultVersion: "v1.0",
    // The client sends the token only to Graph's own hosts, or to these, and only over https.
    customHosts: new Set([new URL(root).hostname]),
    authProvider: { getAccessToken: async () => process.env.VEVENTS_TOKEN },
  });
}

function failure(error) {
  return { statusCode: error.statusCode, code: error.code, requestId: error.requestId, body: error.body };
}

const webinar = (id) => `/solutions/virtualEvents/webinars/${encodeURIComponent(id)}`;

const scenarios = {
  // Get, cancel, read back canceled; an unknown id is a GraphError 404.
  async lifecycle(graph, id) {
    const before = await graph.api(webinar(id)).get();
    const canceled = await graph.api(`${webinar(id)}/cancel`).post();
    const after = await graph.api(webinar(id)).select(["id", "status"]).get();
    let missing = null;
    try {
      await graph.api(webinar("00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba")).get();
    } catch (error) {
      missing = failure(error);
    }
    return { before: before.status, canceledResult: canceled ?? null, after, missing };
  },
  // The stub answers 429 + Retry-After first (a fault rule the test set); the default retry
  // handler waits as told and gets the event.
  async retry(graph, id) {
    const event = await graph.api(webinar(id)).get();
    return { status: event.status };
  },
  // The stub throttles every call; one retry allowed, then the client reports the 429.
  async retriesRunOut(graph, id) {
    try {
      await graph.api(webinar(id)).middlewareOptions([new RetryHandlerOptions(3, 1)]).get();
      return { error: null };
    } catch (error) {
      return { error: failure(error) };
    }
  },
  // Any call: the test points VEVENTS_ROOT at a plain-HTTP stub to show the token is not sent.
  async plain(graph, id) {
    try {
      await graph.api(webinar(id)).get();
      return { error: null };
    } catch (error) {
      return { error: failure(error) };
    }
  },
};

async function main() {
  const name = process.argv[2];
  if (!(name in scenarios)) {
    throw new Error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  }
  const result = await scenarios[name](client(process.env.VEVENTS_ROOT), process.env.VEVENTS_EVENT);
  process.stdout.write(JSON.stringify({ result, exchanges }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
