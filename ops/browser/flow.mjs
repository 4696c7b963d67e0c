// The dashboard flow of issue 7, in headless chromium: setup, login, collection with
// several field types, records (with a validation error), filter and sort, schema
// change, token create and revoke, live records (API changes appear, change and go
// without a reload; the page's filter applies; signing out ends a second tab's stream
// with a notice), a record form uploading an image (its thumbnail shown, axe finds no
// accessibility violation in the form), logout. One screenshot per main page.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
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
// axe-core, evaluated in the page through the devtools protocol (a script tag would be
// inline code, which the dashboard's CSP blocks).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
// A 120x120 red PNG, made here.
const RED_PNG = (() => {
  const { deflateSync } = createRequire(import.meta.url)("node:zlib");
  const w = 120, h = 120, raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w * 3 + 1) + 1 + x * 3] = 255;
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0;
  });
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
})();
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

  // Files: a record form uploads an image (XMLHttpRequest with a progress bar), and the
  // edit form shows it with its 100x100 thumbnail, a download link and a Remove box.
  const created = await fetch(BASE + "/api/v1/collections", {
    method: "POST",
    headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "photos", fields: [{ name: "caption", type: "text" },
      { name: "image", type: "file", mime_types: ["image/png"], thumbs: ["100x100"] }] }),
  });
  if (created.status !== 201) throw new Error(`photos collection: ${created.status} ${await created.text()}`);
  const viaXhr = (r) => r.method() === "POST" && r.resourceType() === "xhr";
  await page.goto(BASE + "/admin/collections/photos/records/new");
  // A file of the wrong type: the answer replaces the page, the message on its field.
  await page.setInputFiles("#f-image", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("plain") });
  await Promise.all([page.waitForRequest(viaXhr), page.click("#save-record")]);
  await page.waitForSelector("#f-image-err");
  await expect(page.textContent("#f-image-err").then((t) => t.includes("image/png")), "the type error names the allowed type");
  await page.fill("#f-caption", "A red square");
  await page.setInputFiles("#f-image", { name: "square.png", mimeType: "image/png", buffer: RED_PNG });
  await Promise.all([page.waitForRequest(viaXhr), page.waitForURL(/\/admin\/collections\/photos\?notice=created/),
    page.click("#save-record")]);
  const photo = (await api("GET", "/photos")).items[0];
  await expect(photo && photo.image, "the record holds the uploaded file");
  await page.goto(BASE + `/admin/collections/photos/records/${photo.id}`);
  await page.waitForFunction(() => {
    const img = document.querySelector("img.file-thumb");
    return img && img.complete && img.naturalWidth === 100;
  });
  await expect(page.locator(`a[href$="/${photo.image}"][download]`).count().then((n) => n === 1), "a download link");
  await expect(page.locator(`input[type=checkbox][name="image-"][value="${photo.image}"]`).count().then((n) => n === 1), "a Remove box");
  await shot("09c-record-files");
  await page.evaluate(AXE_SOURCE);
  const axe = await page.evaluate(() => window.axe.run("form", { runOnly: ["wcag2a", "wcag2aa"] }));
  await expect(axe.violations.length === 0,
    "no accessibility violations in the record form: " + axe.violations.map((v) => `${v.id}: ${v.help}`).join("; "));

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
