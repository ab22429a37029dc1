// End-to-end test of the chat example in headless Chromium, through the browser's own WebSocket.
// Usage: node chat.mjs http://127.0.0.1:PORT/ [SCREENSHOT_DIR]
// (scripts/browser-test.sh starts the server and runs this.) Exits non-zero on any failure.
// Never downloads a browser: it drives the system Chromium (CHROMIUM, default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { mkdir } from "node:fs/promises";
import path from "node:path";

const base = process.argv[2];
const shots = process.argv[3] ?? "target/browser";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Every wait is bounded by this; the whole run by TOTAL.
const STEP = 10_000;
const TOTAL = 50_000;

if (!base) {
  console.error("usage: node chat.mjs http://127.0.0.1:PORT/ [SCREENSHOT_DIR]");
  process.exit(2);
}
setTimeout(() => {
  console.error(`FAIL: browser test did not finish within ${TOTAL / 1000} s`);
  process.exit(1);
}, TOTAL).unref();

function check(condition, what) {
  if (!condition) throw new Error(`assertion failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout: STEP * 3,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
console.log(`chromium ${browser.version()} at ${executablePath}`);

const problems = [];
async function openPage(label) {
  // One context per user: separate cookies and storage, like two people.
  const context = await browser.newContext({ viewport: { width: 760, height: 620 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${label}: console error: ${m.text()}`);
  });
  return page;
}

async function join(page, name) {
  await page.goto(base, { timeout: STEP });
  await page.fill("#name", name);
  await page.click("#join");
  await page.waitForSelector('#status[data-state="open"]');
  await page.waitForFunction((n) => document.getElementById("me").textContent === n, name);
}

try {
  const a = await openPage("A");
  const b = await openPage("B");
  await join(a, "alice");
  await join(b, "bob");

  // Alice was there first: she sees bob's join notice.
  await a.locator("#messages li.join", { hasText: "bob joined" }).waitFor();
  check(true, "page A shows the join notice for bob");
  await a.waitForFunction(() => document.getElementById("users").textContent === "in the room: alice, bob");
  check(true, "page A lists alice and bob in the room");

  for (const [label, page] of [["A", a], ["B", b]]) {
    const extensions = await page.textContent("#extensions");
    const live = await page.evaluate(() => document.getElementById("extensions").textContent);
    check(
      extensions.startsWith("permessage-deflate") && live === extensions,
      `page ${label} negotiated permessage-deflate (ws.extensions = "${extensions}")`,
    );
  }

  const hello = `hello from alice <b>not bold</b> ${Date.now()}`;
  await a.fill("#text", hello);
  await a.click("#send");
  const atB = b.locator("#messages li.message", { hasText: hello });
  await atB.waitFor();
  check((await atB.locator(".from").textContent()) === "alice", "page B shows alice's message, from alice");
  // Markup in messages is text, never HTML.
  check((await b.locator("#messages b").count()) === 0, "page B rendered the markup as text");
  await a.locator("#messages li.message", { hasText: hello }).waitFor();
  check(true, "page A shows its own message too");

  const reply = "hi alice, bob here";
  await b.fill("#text", reply);
  await b.press("#text", "Enter");
  await a.locator("#messages li.message", { hasText: reply }).waitFor();
  check(true, "page A shows bob's reply");
  await b.locator("#messages li.message", { hasText: reply }).waitFor();

  await mkdir(shots, { recursive: true });
  await a.screenshot({ path: path.join(shots, "chat-a.png") });
  await b.screenshot({ path: path.join(shots, "chat-b.png") });
  console.log(`screenshots: ${path.join(shots, "chat-a.png")}, ${path.join(shots, "chat-b.png")}`);

  // Bob leaves: alice sees it.
  await b.context().close();
  await a.locator("#messages li.leave", { hasText: "bob left" }).waitFor();
  check(true, "page A shows bob's leave notice after his page closed");
  await a.waitForFunction(() => document.getElementById("users").textContent === "in the room: alice");
  check(true, "page A no longer lists bob");

  // The HTTP side seen by the browser: unknown paths are 404, /ws without upgrade is 426.
  const other = await a.context().newPage();
  check((await other.goto(new URL("nope", base).href)).status() === 404, "GET /nope is 404");
  check((await other.goto(new URL("ws", base).href)).status() === 426, "GET /ws without upgrade is 426");
  await other.close();

  check(problems.length === 0, `no page or console errors${problems.length ? ": " + problems.join("; ") : ""}`);
  console.log("PASS");
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  for (const p of problems) console.error(p);
  process.exitCode = 1;
} finally {
  await browser.close();
}
