// The dashboard flow of issue 7, in headless chromium: setup, login, collection with
// several field types, records (with a validation error), filter and sort, schema
// change, token create and revoke, live records (API changes appear, change and go
// without a reload; the page's filter applies; signing out ends a second tab's stream
// with a notice), logout. One screenshot per main page.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const { BASE, SETUP, SHOTS } = process.env;
const EMAIL = "admin@example.org", PASSWORD = "correct horse battery staple";
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "hearth-chromium-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 860 },
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(15000);
const errors = [];
// Expected non-2xx answers (a 422 form, no favicon) log "Failed to load resource".
page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text()); });
page.on("pageerror", (e) => errors.push(e.message));
// Every Content-Security-Policy violation on any page (an inline style or script the
// dashboard's CSP blocks), reported from the page itself, across navigations.
const violations = [];
await page.exposeFunction("reportCspViolation", (v) => violations.push(v));
await context.addInitScript(() => {
  document.addEventListener("securitypolicyviolation", (e) =>
    window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} on ${location.pathname}`));
});
// And the policy itself: no dashboard page may allow inline styles or scripts.
const policies = new Map();
page.on("response", (r) => {
  const html = (r.headers()["content-type"] ?? "").startsWith("text/html");
  if (html && r.request().resourceType() === "document" && new URL(r.url()).pathname.startsWith("/admin")) {
    policies.set(new URL(r.url()).pathname, r.headers()["content-security-policy"] ?? "");
  }
});
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const expect = async (cond, what) => { if (!(await cond)) throw new Error(`expected: ${what}`); };

try {
  await page.goto(BASE + SETUP);
  await shot("01-setup");
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(BASE + "/admin"), page.click("button[type=submit]")]);
  // Sign out and in again through the login page.
  await Promise.all([page.waitForURL(/\/admin\/login$/), page.click("#logout")]);
  await shot("02-login");
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(BASE + "/admin"), page.click("button[type=submit]")]);
  await shot("03-overview");

  // A collection with several field types.
  await page.goto(BASE + "/admin/collections/new");
  await page.fill("#name", "posts");
  await page.fill("#f0-name", "title");
  await page.check("input[name='f0.required']");
  await page.fill("#f0-max_length", "40");
  for (const [i, name, type] of [[1, "views", "integer"], [2, "status", "enum"], [3, "published", "boolean"]]) {
    await page.click("#add-field");
    await page.fill(`#f${i}-name`, name);
    await page.selectOption(`#f${i}-type`, type);
  }
  await page.fill("#f2-values", "draft, published");
  await page.fill("#rules-list", "public");
  await shot("04-new-collection");
  await Promise.all([page.waitForURL(/\/admin\/collections\/posts\?notice=created/), page.click("#create-collection")]);

  // Records: a validation error next to its field, then valid records.
  await page.click("#new-record");
  await page.fill("#f-title", "x".repeat(50));
  await page.click("#save-record");
  await page.waitForSelector("#f-title-err");
  await shot("05-record-error");
  for (const [title, views, status] of [["Hello world", "5", "draft"], ["Rust on SQLite", "42", "published"], ["Third post", "7", "draft"]]) {
    await page.goto(BASE + "/admin/collections/posts/records/new");
    await page.fill("#f-title", title);
    await page.fill("#f-views", views);
    await page.selectOption("#f-status", status);
    await Promise.all([page.waitForURL(/notice=created/), page.click("#save-record")]);
  }
  // Filter (htmx swaps the table), then an invalid filter shows its position.
  await page.fill("#filter", "views >= 6");
  await page.click("#apply-filter");
  await page.waitForFunction(() => document.querySelectorAll("#records-table tbody tr").length === 2);
  await page.click("a[data-sort='views']");
  await page.waitForSelector("th[aria-sort='ascending'] a[data-sort='views']");
  await page.click("a[data-sort='views']");
  await page.waitForSelector("th[aria-sort='descending'] a[data-sort='views']");
  const first = await page.textContent("#records-table tbody tr:first-child");
  await expect(first.includes("Rust on SQLite"), "sorted by -views");
  await shot("06-records");
  await page.fill("#filter", "views >= ");
  await page.click("#apply-filter");
  await page.waitForSelector("#filter-error mark");
  await shot("07-filter-error");

  // Schema: add a field, preview the migration, apply.
  await page.goto(BASE + "/admin/collections/posts/schema");
  await page.click("#add-field");
  await page.fill("#f4-name", "summary");
  await page.click("#preview-change");
  await page.waitForSelector("#preview");
  await shot("08-schema-preview");
  await Promise.all([page.waitForURL(/notice=applied/), page.click("#apply-change")]);
  await expect(page.locator("#f4-name").inputValue().then((v) => v === "summary"), "field added");

  // Tokens: create (secret shown once), revoke.
  await page.goto(BASE + "/admin/tokens");
  await page.fill("#token-name", "deploy script");
  await page.click("#create-token");
  await page.waitForSelector("#token-secret");
  await shot("09-token-created");
  await page.click("a[aria-label='Revoke deploy script']");
  await Promise.all([page.waitForURL(/notice=revoked/), page.click("#confirm")]);

  // Live records: changes made through the API appear on the open records page without
  // a reload (its EventSource stream), changed rows marked; then updated and deleted.
  await page.goto(BASE + "/admin/tokens");
  await page.fill("#token-name", "live check");
  await page.check("input[name='scopes'][value='write']");
  await page.check("input[name='scopes'][value='admin']");
  await page.click("#create-token");
  await page.waitForSelector("#token-secret");
  const apiToken = (await page.textContent("#token-secret")).trim();
  const api = async (method, path, body) => {
    const r = await fetch(BASE + "/api/v1" + path, {
      method, body: body && JSON.stringify(body),
      headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  };
  await page.goto(BASE + "/admin/collections/posts?sort=-views");
  await page.waitForSelector("#live-status[data-state='live'][aria-live='polite']");
  await expect(page.textContent("#live-status").then((t) => t.trim() === "Live"), "the status says Live");
  await page.evaluate(() => { window.notReloaded = true; });
  const live = await api("POST", "/posts", { title: "Arrived live", views: 100, status: "draft" });
  const row = `#records-table tbody tr[data-id="${live.id}"]`;
  await page.waitForSelector(`${row}.row-changed`);
  await expect(page.textContent("#records-table tbody tr:first-child").then((t) => t.includes("Arrived live")),
    "the new row is where the page's sort (-views) puts it");
  await shot("09b-live-created");
  await api("PATCH", `/posts/${live.id}`, { title: "Edited live" });
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes("Edited live"), row);
  await api("DELETE", `/posts/${live.id}`);
  await page.waitForFunction((sel) => !document.querySelector(sel), row);
  // A change the page's filter leaves out does not show up.
  await page.fill("#filter", "views >= 40");
  await page.click("#apply-filter");
  await page.waitForFunction(() => document.querySelectorAll("#records-table tbody tr").length === 1);
  await page.waitForSelector("#live-status[data-state='live']");
  const low = await api("POST", "/posts", { title: "Filtered out", views: 1, status: "draft" });
  const high = await api("POST", "/posts", { title: "Filtered in", views: 50, status: "draft" });
  await page.waitForSelector(`#records-table tbody tr[data-id="${high.id}"]`);
  await expect(page.locator(`tr[data-id="${low.id}"]`).count().then((n) => n === 0), "the filter applies live");
  await expect(page.evaluate(() => window.notReloaded === true), "no reload happened");
  await expect(page.url().includes("filter=views"), "the filter stays in the URL");

  for (const [path, name] of [["/admin/collections", "10-collections"], ["/admin/users", "11-users"],
    ["/admin/audit", "12-audit"], ["/admin/settings", "13-settings"], ["/admin", "14-overview-after"]]) {
    await page.goto(BASE + path);
    await shot(name);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE + "/admin/collections/posts");
  await shot("15-records-phone");
  // A second tab on the records page: signing out in the first ends its stream at the
  // next re-check (15 s), with a notice pointing to the login page.
  const other = await context.newPage();
  other.on("pageerror", (e) => errors.push(e.message));
  await other.goto(BASE + "/admin/collections/posts");
  await other.waitForSelector("#live-status[data-state='live']");
  await Promise.all([page.waitForURL(/\/admin\/login$/), page.click("#logout")]);
  await other.waitForSelector("#live-status[data-state='stopped'] a[href='/admin/login']", { timeout: 30000 });
  await other.screenshot({ path: join(SHOTS, "16-live-session-ended.png") });
  await other.close();
  await page.goto(BASE + "/admin/collections");
  await expect(page.url().endsWith("/admin/login"), "signed out");
  // The detector works: an inline style put into a dashboard page is blocked and reported.
  await page.goto(BASE + "/admin/login");
  await page.evaluate(() => {
    const el = document.createElement("div");
    el.setAttribute("style", "color: red");
    document.body.appendChild(el);
  });
  for (let i = 0; i < 50 && !violations.some((v) => v.includes("/admin/login")); i++) await page.waitForTimeout(20);
  const probe = violations.findIndex((v) => v.includes("/admin/login") && v.startsWith("style-src"));
  await expect(probe >= 0, `the injected inline style is reported (got: ${violations.join(" | ")})`);
  violations.splice(probe, 1);
  const consoleErrors = errors.filter((e) => !e.includes("Content Security Policy"));
  if (violations.length) throw new Error("CSP violations: " + violations.join(" | "));
  if (consoleErrors.length) throw new Error("console errors: " + consoleErrors.join(" | "));
  for (const [path, csp] of policies) {
    await expect(csp.includes("style-src 'self'") && !csp.includes("unsafe-inline"), `strict CSP on ${path}: ${csp}`);
  }
  await expect(policies.size >= 8, `CSP seen on the dashboard pages (${policies.size})`);
  console.log("browser flow: 1 passed, 0 failed");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error("browser flow failed:", e.message, "at", page.url());
  process.exitCode = 1;
} finally {
  await context.close();
}
