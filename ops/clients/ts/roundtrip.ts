// Round trip through the TypeScript client made from the live document by
// openapi-typescript (types) and openapi-fetch (calls), used as generated and type-checked
// by tsc (ops/clients/test.py): create, get, list with a filter and a cursor, patch with
// If-Match (a stale one refused), delete, a 422 parsed as a problem.
// HEARTH_URL and HEARTH_TOKEN come from the environment.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/hearth.d.ts";

type Problem = components["schemas"]["Problem"];
type Note = components["schemas"]["notes.Record"];

declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

const client = createClient<paths>({
  baseUrl: process.env.HEARTH_URL,
  headers: { Authorization: `Bearer ${process.env.HEARTH_TOKEN}` },
});

function check(ok: boolean, what: string, detail?: unknown): asserts ok {
  if (!ok) {
    console.error(`typescript client: ${what}`, JSON.stringify(detail));
    process.exit(1);
  }
}

function isProblem(body: unknown, code: string): body is Problem {
  return typeof body === "object" && body !== null && (body as Problem).code === code;
}

const made: Note[] = [];
for (let i = 0; i < 5; i++) {
  const { data, error, response } = await client.POST("/notes", {
    body: {
      title: `typescript ${i}`,
      views: i * 10,
      score: i / 2,
      done: i % 2 === 0,
      status: "published",
      due: `2026-12-0${i + 1}`,
      seen_at: `2026-12-03T09:0${i}:00Z`,
      contact: `t${i}@example.org`,
      link: `https://example.org/t/${i}`,
      meta: { tags: ["b", i] },
    },
  });
  check(response.status === 201 && data !== undefined, "create", error);
  check(response.headers.get("etag") === `"${data.version}"`, "ETag of create", data);
  check(data.views === i * 10 && data.status === "published", "created record", data);
  made.push(data);
}

{
  const { data, error } = await client.GET("/notes/{id}", {
    params: { path: { id: made[0].id } },
  });
  check(data?.title === "typescript 0", "get", error ?? data);
}

{
  const seen: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const { data, error } = await client.GET("/notes", {
      params: {
        query: { filter: "views >= 10 && title ~ 'typescript'", sort: "views", limit: 2, cursor, count: true },
      },
    });
    check(data !== undefined && data.total === 4, "list", error ?? data);
    seen.push(...data.items.map((item) => String(item.title)));
    if (!data.next_cursor) break;
    cursor = data.next_cursor;
  }
  const want = ["typescript 1", "typescript 2", "typescript 3", "typescript 4"];
  check(JSON.stringify(seen) === JSON.stringify(want), "list pages", seen);
}

{
  const etag = `"${made[1].version}"`;
  const path = { id: made[1].id };
  const { data, error } = await client.PATCH("/notes/{id}", {
    params: { path, header: { "If-Match": etag } },
    body: { title: "patched", views: 99 },
  });
  check(data?.title === "patched" && data.version === made[1].version + 1, "patch", error ?? data);
  // Fields the patch did not name keep their values.
  check(data.status === "published" && data.score === 0.5, "untouched fields", data);
  const stale = await client.PATCH("/notes/{id}", {
    params: { path, header: { "If-Match": etag } },
    body: { title: "again" },
  });
  check(stale.response.status === 412 && isProblem(stale.error, "precondition_failed"), "stale patch", stale.error);
}

{
  const { error, response } = await client.POST("/notes", {
    body: { title: "", views: -1, done: false, status: "draft" },
  });
  check(response.status === 422 && isProblem(error, "validation_failed"), "422", error);
  const fields = (error.errors ?? []).map((e) => e.field).sort();
  check(JSON.stringify(fields) === JSON.stringify(["title", "views"]), "422 field errors", error);
}

{
  const path = { id: made[2].id };
  const { response } = await client.DELETE("/notes/{id}", { params: { path } });
  check(response.status === 204, "delete", response.status);
  const gone = await client.GET("/notes/{id}", { params: { path } });
  check(gone.response.status === 404 && isProblem(gone.error, "not_found"), "deleted record", gone.error);
}

console.log("--- typescript client: create, get, list (filter, cursor), patch (If-Match), delete, 422: ok");
