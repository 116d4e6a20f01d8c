// Drives headless Chromium over the DevTools protocol (node --experimental-websocket, no npm
// packages): opens the server's page, puts a film in its file input as a person choosing a file
// would, waits for the answer, and prints what the page shows as JSON:
//   {"probability": "90.4%", "decision": "...", "heatmap_width": 186, "film_width": 186}
// Usage: node --experimental-websocket serve_page.mjs DEVTOOLS_PORT PAGE_URL FILM SCREENSHOT.png
import { writeFileSync } from "node:fs";

const [devPort, pageUrl, film, screenshot] = process.argv.slice(2);
const fail = (msg) => { console.error("serve_page: " + msg); process.exit(1); };
const deadline = Date.now() + 60000;

const targets = await (await fetch(`http://127.0.0.1:${devPort}/json/list`)).json();
const page = targets.find((t) => t.type === "page");
if (!page) fail("no page target in Chromium");

const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
let nextId = 1;
const pending = new Map();
ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  if (msg.id && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result);
  }
};
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve, reject });
  ws.send(JSON.stringify({ id, method, params }));
});
const evaluate = async (expr) =>
  (await send("Runtime.evaluate", { expression: expr, returnByValue: true })).result.value;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

await send("Page.enable");
await send("Runtime.enable");
await send("Page.navigate", { url: pageUrl });
while ((await evaluate("document.readyState")) !== "complete") {
  if (Date.now() > deadline) fail("the page did not load");
  await sleep(100);
}
const { root } = await send("DOM.getDocument");
const { nodeId } = await send("DOM.querySelector", { nodeId: root.nodeId, selector: "#file" });
if (!nodeId) fail("the page has no file input");
await send("DOM.setFileInputFiles", { nodeId, files: [film] });

// the answer is rendered, the heat map and the film decoded by the browser
const state = `(() => {
  const p = document.getElementById("probability"), d = document.getElementById("decision");
  const h = document.getElementById("heatmap"), f = document.querySelector(".images img");
  const err = document.querySelector("#result .error");
  return { probability: p && p.textContent, decision: d && d.textContent,
           heatmap_width: h && h.complete ? h.naturalWidth : 0,
           film_width: f && f.complete ? f.naturalWidth : 0, error: err && err.textContent };
})()`;
let shown;
for (;;) {
  shown = await evaluate(state);
  if (shown.error) fail("the page shows " + shown.error);
  if (shown.probability && shown.heatmap_width > 0 && shown.film_width > 0) break;
  if (Date.now() > deadline) fail("no answer on the page: " + JSON.stringify(shown));
  await sleep(100);
}
const shot = await send("Page.captureScreenshot", { format: "png" });
writeFileSync(screenshot, Buffer.from(shot.data, "base64"));
console.log(JSON.stringify(shown));
ws.close();
process.exit(0);
