// Misuses the generated client must reject at compile time: each line below must be a type
// error, or `tsc` fails on the unused @ts-expect-error (so the generated types are really used).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

const client = createClient<paths>({ baseUrl: "https://127.0.0.1/v1.0" });

// @ts-expect-error: "cancelled" is not a status the spec knows (Graph spells it "canceled")
export const misspelled: components["schemas"]["virtualEventStatus"] = "cancelled";

export async function misuses(): Promise<void> {
  // @ts-expect-error: the spec has no such path
  await client.GET("/solutions/virtualEvents/webinar/{id}", {});
  // @ts-expect-error: the path parameter is required
  await client.GET("/solutions/virtualEvents/webinars/{virtualEventWebinar-id}", {});
  const missing = await client.GET("/solutions/virtualEvents/webinars/{virtualEventWebinar-id}", {
    params: { path: { "virtualEventWebinar-id": "x" } },
  });
  // @ts-expect-error: Graph's error envelope is not RFC 7807 (no `detail`)
  void missing.error?.detail;
  // @ts-expect-error: the body of a 200 is possibly undefined until the error is ruled out
  void missing.data.status;
}
