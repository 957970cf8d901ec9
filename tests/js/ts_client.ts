// Drives the stub with a TypeScript client generated from the spec at test time
// (openapi-typescript -> schema.ts, used by openapi-fetch); tests/test_ts_client.py compiles it
// with `tsc` (strict, no emit on error) next to the generated schema.ts and runs it with Node.
//
// env: VEVENTS_ROOT (e.g. https://127.0.0.1:8443), VEVENTS_TOKEN, NODE_EXTRA_CA_CERTS (the local CA).
// Prints one JSON object with what the stub answered.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Status = components["schemas"]["virtualEventStatus"];
type ODataError = components["schemas"]["ODataError"];

// No @types/node: the two things used from Node are declared here.
declare const process: { env: Record<string, string | undefined>; stdout: { write(text: string): void } };

const MISSING = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba";

const client = createClient<paths>({
  baseUrl: `${process.env.VEVENTS_ROOT}/v1.0`,
  headers: { Authorization: `Bearer ${process.env.VEVENTS_TOKEN}` },
});

const created = await client.POST("/solutions/virtualEvents/townhalls", {
  body: {
    displayName: "TypeScript town hall",
    startDateTime: { dateTime: "2026-12-03T17:00:00", timeZone: "UTC" },
    endDateTime: { dateTime: "2026-12-03T18:00:00", timeZone: "UTC" },
    audience: "organization",
  },
});
if (created.data?.id === undefined) {
  throw new Error(`create failed: ${created.response.status} ${JSON.stringify(created.error)}`);
}
const id: string = created.data.id;
const createdStatus: Status | undefined = created.data.status;
const path = { "virtualEventTownhall-id": id };

const published = await client.POST("/solutions/virtualEvents/townhalls/{virtualEventTownhall-id}/publish", {
  params: { path },
});
const canceled = await client.POST("/solutions/virtualEvents/townhalls/{virtualEventTownhall-id}/cancel", {
  params: { path },
});
const read = await client.GET("/solutions/virtualEvents/townhalls/{virtualEventTownhall-id}", {
  params: { path, query: { $select: ["id", "status"] } },
});
const status: Status | undefined = read.data?.status;

const missing = await client.GET("/solutions/virtualEvents/townhalls/{virtualEventTownhall-id}", {
  params: { path: { "virtualEventTownhall-id": MISSING } },
});
// The 404 is typed: `error` is Graph's envelope, as the spec declares it.
const envelope: ODataError | undefined = missing.error;

process.stdout.write(
  JSON.stringify({
    id,
    createdStatus,
    published: published.response.status,
    canceled: canceled.response.status,
    status,
    missing: {
      status: missing.response.status,
      code: envelope?.error.code,
      requestId: envelope?.error.innerError?.["request-id"],
      header: missing.response.headers.get("request-id"),
    },
  }) + "\n",
);
