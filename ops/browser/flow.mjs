// The dashboard flow of issue 7, in headless chromium: setup, login, collection with
// several field types, records (with a validation error), filter and sort, schema
// change, token create and revoke, logout. One screenshot per main page.
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

  for (const [path, name] of [["/admin/collections", "10-collections"], ["/admin/users", "11-users"],
    ["/admin/audit", "12-audit"], ["/admin/settings", "13-settings"], ["/admin", "14-overview-after"]]) {
    await page.goto(BASE + path);
    await shot(name);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE + "/admin/collections/posts");
  await shot("15-records-phone");
  await Promise.all([page.waitForURL(/\/admin\/login$/), page.click("#logout")]);
  await page.goto(BASE + "/admin/collections");
  await expect(page.url().endsWith("/admin/login"), "signed out");
  if (errors.length) throw new Error("console errors: " + errors.join(" | "));
  console.log("browser flow: 1 passed, 0 failed");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error("browser flow failed:", e.message, "at", page.url());
  process.exitCode = 1;
} finally {
  await context.close();
}
