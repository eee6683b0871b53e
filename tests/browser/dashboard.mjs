// The edge-cp dashboard (cp/web/dashboard.html) in headless Chromium,
// against a real edge-cp with simulated nodes; tests/integration/dashboard.sh
// starts both and runs this.
//
//	node dashboard.mjs main|scale|twoperson
//
// Environment: EF_URL (edge-cp), EF_ADMIN and EF_VIEWER (tokens), EF_SHOTS
// (a folder for screenshots), EF_CHROMIUM (default /usr/bin/chromium).
//
// Prints one line per check, "ok - NAME" or "not ok - NAME" with "#" lines
// saying why; the shell numbers them.  Checks wait for what they expect
// (until(), up to a generous limit) and never assert on time: the render
// time of the scale phase is printed, not judged.
import { chromium, request } from "playwright-core";

const URL = process.env.EF_URL;
const ADMIN = process.env.EF_ADMIN;
const VIEWER = process.env.EF_VIEWER;
const SHOTS = process.env.EF_SHOTS || ".";
const WAIT_MS = 30000;
const OPERATOR_BUTTONS = ["drain", "undrain", "rollout-pause", "rollout-resume",
	"rollout-promote", "rollout-abort", "freeze", "unfreeze"]
	.map((t) => `[data-testid=${t}]`).join(",");

let failed = 0;
function ok(name) { console.log(`ok - ${name}`); }
function notOk(name, why) {
	failed++;
	console.log(`not ok - ${name}`);
	for (const l of String(why).split("\n").slice(0, 8)) console.log(`#   ${l}`);
}

// check NAME FN: ok when FN resolves, not ok with its error otherwise.
/*
 * Answer a routed request with what edge-cp answers, changed by change().
 * The page refreshes on its own, so a request it gave up on meanwhile (a
 * reload, the route removed at the end of a check) is handled already:
 * that is no failure.
 */
async function alter(r, change) {
	try {
		const n = await (await r.fetch()).json();
		change(n);
		await r.fulfill({ json: n });
	} catch (e) {
		if (!/already handled|closed|disposed/.test(String(e)))
			throw e;
	}
}

async function check(name, fn) {
	try {
		await fn();
		ok(name);
		return true;
	} catch (e) {
		notOk(name, e.stack || e);
		return false;
	}
}

// until FN [WHAT]: FN's value once it is truthy, polled every 200 ms;
// throws after WAIT_MS saying what was last seen.
async function until(fn, what = "condition", ms = WAIT_MS) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last) return last;
		} catch (e) {
			last = e.message;
		}
		if (Date.now() > end) throw new Error(`waited for ${what}; last saw ${JSON.stringify(last)}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

const apiCtx = await request.newContext({ ignoreHTTPSErrors: true, baseURL: URL });
async function api(method, path, body) {
	const r = await apiCtx.fetch(path, {
		method, data: body, headers: { Authorization: `Bearer ${ADMIN}` },
	});
	const j = await r.json().catch(() => null);
	if (!r.ok()) throw new Error(`${method} ${path}: ${r.status()} ${JSON.stringify(j)}`);
	return j;
}

const browser = await chromium.launch({
	executablePath: process.env.EF_CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox"],
});

async function newPage(viewport = { width: 1400, height: 900 }) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
	const page = await ctx.newPage();
	page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
	return page;
}

const tiles = (page) => page.locator("[data-testid=node-tile]").count();
const count = (page, h) => page.locator(`[data-testid=count-${h}]`).textContent();

async function countsMatch(page) {
	const f = await api("GET", "/v1/fleet");
	const want = { total: f.nodes };
	for (const h of ["healthy", "degraded", "unreachable", "draining", "drained"])
		want[h] = f.by_health[h] || 0;
	for (const h of Object.keys(want))
		if (Number(await count(page, h)) !== want[h]) return false;
	return want;
}

async function main() {
	const nodes = (await api("GET", "/v1/nodes")).nodes;
	const page = await newPage();
	let loads = 0;
	page.on("load", () => loads++);

	await check("the #token= link logs in as admin", async () => {
		await page.goto(`${URL}/#token=${ADMIN}`);
		await page.waitForSelector("body[data-role=admin]");
	});
	await check("...and takes the token out of the address", async () => {
		if (page.url().includes("token")) throw new Error(page.url());
	});
	await check(`every node has a tile (${nodes.length})`, async () => {
		await until(async () => (await tiles(page)) === nodes.length, "tiles");
	});
	await check("the counts at the top are the API's", async () => {
		const c = await until(() => countsMatch(page), "counts equal to GET /v1/fleet");
		console.log(`# counts: ${JSON.stringify(c)}`);
	});
	await check("tiles are grouped by region and POP", async () => {
		const pops = (await api("GET", "/v1/pops")).pops;
		for (const p of pops) {
			const want = nodes.filter((n) => n.pop === p.name).length;
			const sel = `[data-testid=region][data-region="${p.region}"] ` +
				`[data-testid=pop][data-pop="${p.name}"] [data-testid=node-tile]`;
			await until(async () => (await page.locator(sel).count()) === want, `${want} tiles in ${p.name}`);
		}
	});
	await check("a tile says its health in words", async () => {
		const t = page.locator("[data-testid=node-tile]").first();
		const h = await t.getAttribute("data-health");
		if (!(await t.getAttribute("aria-label")).includes(h)) throw new Error("no health in aria-label");
	});

	// A rollout, followed live: the page is open on #/rollouts before it
	// exists, and nothing reloads it.
	let rid, pv;
	await page.click("nav a[data-view=rollouts]");
	await page.evaluate(() => { window.efMark = 1; });
	await check("a rollout created through the API appears", async () => {
		pv = (await api("PUT", "/v1/profile", { steps: [{ name: "s", kind: "sysctl",
			params: { key: "net.ipv4.ip_forward", value: "1" } }] })).version;
		rid = (await api("POST", "/v1/rollouts", { component: "profile", version: String(pv),
			bake_s: 1, min_reports: 1 })).id;
		await page.waitForSelector(`[data-testid=rollout][data-rollout="${rid}"]`, { timeout: WAIT_MS });
	});
	const ro = `[data-testid=rollout][data-rollout="${rid}"]`;
	await check("its progress updates live: the canary passes, the next wave moves", async () => {
		const first = await page.locator(`${ro} [data-testid=wave][data-wave="1"]`).getAttribute("data-state");
		console.log(`# canary wave first shown as ${first}`);
		await until(async () => (await page.locator(`${ro} [data-testid=wave][data-wave="1"]`)
			.getAttribute("data-state")) === "passed", "canary wave passed");
		await until(async () => Number(await page.locator(
			`${ro} [data-testid=wave][data-wave="2"] [data-testid=wave-moved]`).textContent()) > 0,
		"wave 2 moving");
	});
	await check("...without a reload", async () => {
		if (loads !== 1 || (await page.evaluate(() => window.efMark)) !== 1)
			throw new Error(`${loads} loads`);
	});
	await page.screenshot({ path: `${SHOTS}/rollouts.png`, fullPage: true });
	await check("operator buttons fit the state: pause and abort while running", async () => {
		await page.waitForSelector(`${ro}[data-state=running] [data-testid=rollout-pause]`);
		if (await page.locator(`${ro} [data-testid=rollout-abort]`).count() !== 1 ||
		    await page.locator(`${ro} [data-testid=rollout-resume]`).count() !== 0 ||
		    await page.locator(`${ro} [data-testid=rollout-promote]`).count() !== 0)
			throw new Error("wrong buttons for running");
	});
	await check("pause on the page pauses it, resume resumes it", async () => {
		await page.click(`${ro} [data-testid=rollout-pause]`);
		await until(async () => (await api("GET", `/v1/rollouts/${rid}`)).state === "paused", "paused");
		await page.click(`${ro}[data-state=paused] [data-testid=rollout-resume]`, { timeout: WAIT_MS });
		await until(async () => (await api("GET", `/v1/rollouts/${rid}`)).state === "running", "running");
		await page.waitForSelector(`${ro}[data-state=running]`);
	});

	// Drain a canary node from its page: it has applied the profile, so
	// its step shows too.
	const canary = (await api("GET", `/v1/rollouts/${rid}`)).wave_list[0].node_list[0].id;
	await check("a tile opens its node's view", async () => {
		await page.click("nav a[data-view=fleet]");
		await page.click(`[data-testid=node-tile][data-node="${canary}"]`);
		await page.waitForSelector(`[data-testid=node-detail][data-node="${canary}"]`);
		if (!page.url().endsWith(`#/node/${canary}`)) throw new Error(page.url());
	});
	await check("the node view shows its step and state", async () => {
		await page.waitForSelector(`[data-testid=step][data-step=s][data-state=in_sync]`, { timeout: WAIT_MS });
	});
	await page.screenshot({ path: `${SHOTS}/node.png`, fullPage: true });
	await check("drain on the page drains the node", async () => {
		await page.click("[data-testid=drain]");
		await until(async () => (await api("GET", `/v1/nodes/${canary}`)).drain === true, "drain true");
		await page.waitForSelector("[data-testid=undrain]");
	});
	await check("a node.drain event reaches the live feed", async () => {
		await page.click("nav a[data-view=events]");
		await page.waitForSelector("[data-testid=live][data-live=on]");
		await until(async () => {
			for (const t of await page.locator("[data-testid=event][data-kind='node.drain']").allTextContents())
				if (t.includes(canary)) return true;
			return false;
		}, "node.drain event");
	});
	await page.screenshot({ path: `${SHOTS}/events.png`, fullPage: false });
	await check("the feed filters by kind and node", async () => {
		await page.fill("[data-testid=filter-kind]", "node.drain");
		await page.fill("[data-testid=filter-node]", canary);
		await until(async () => {
			const kinds = await page.locator("[data-testid=event]").evaluateAll(
				(l) => l.map((e) => e.dataset.kind + " " + e.textContent));
			return kinds.length > 0 && kinds.every((k) => k.startsWith("node.drain ") && k.includes(canary));
		}, "only this node's drain");
	});
	await page.fill("[data-testid=filter-kind]", "");
	await page.fill("[data-testid=filter-node]", "");

	// What simulated nodes do not report, a real keeper does: the node
	// view is given such a report (schema/status.schema.json).
	await check("the node view shows dataplane, anycast gate and BGP sessions", async () => {
		await page.route(`**/v1/nodes/${canary}`, (r) => alter(r, (n) => {
			n.announced = ["198.51.100.10/32"];
			Object.assign(n.status, {
				dataplane: { healthy: true, version: "2.0.0" },
				bgp_sessions: [{ neighbor: "192.0.2.1", state: "Established" }],
				anycast: { state: "announced", flips: [{ at: 1700000000, to: "announced", reason: "dataplane healthy" }] },
			});
		}));
		await page.goto(`${URL}/#/node/${canary}`);
		const d = page.locator(`[data-testid=node-detail][data-node="${canary}"]`);
		await d.locator("[data-testid=anycast-state]:has-text('announced')").waitFor();
		const text = await d.textContent();
		for (const want of ["2.0.0", "192.0.2.1", "Established", "198.51.100.10/32", "dataplane healthy"])
			if (!text.includes(want)) throw new Error(`no "${want}" in the node view`);
		await page.unroute(`**/v1/nodes/${canary}`);
	});

	// A compromised node controls its step and gate reasons: markup in
	// them is shown as text and never runs, and the page's policy lets
	// only its own script run.
	await check("markup a node reports is shown as text, never run", async () => {
		const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
		await page.route(`**/v1/nodes/${canary}`, (r) => alter(r, (n) => {
			n.status.steps = [{ name: "s", kind: "file", state: "error", reason: evil }];
			n.status.anycast = { state: "withdrawn", flips: [{ at: 1700000000, to: "withdrawn", reason: evil }] };
		}));
		// Loaded afresh: the same address again would keep the last view.
		await page.goto(`${URL}/#/`);
		await page.reload();
		await page.goto(`${URL}/#/node/${canary}`);
		const d = page.locator(`[data-testid=node-detail][data-node="${canary}"]`);
		await d.locator("[data-testid=step][data-step=s]").waitFor();
		await until(async () => (await d.textContent()).includes('<img src=x onerror="window.__xss=1">'),
			"the reason shown as text");
		if (await page.evaluate(() => window.__xss) !== undefined)
			throw new Error("injected markup ran");
		if (await d.locator("img, script").count() !== 0)
			throw new Error("injected elements are in the page");
		await page.unroute(`**/v1/nodes/${canary}`);
	});
	await check("the page is sent with a policy that runs only its own script", async () => {
		const resp = await page.goto(`${URL}/`);
		const csp = resp.headers()["content-security-policy"] || "";
		if (!/script-src 'sha256-[A-Za-z0-9+/=]+'/.test(csp) || !csp.includes("connect-src 'self'"))
			throw new Error(`policy: "${csp}"`);
		// A script element added to the page is not the page's own.
		await page.evaluate(() => {
			const e = document.createElement("script");
			e.textContent = "window.__csp = 1";
			document.head.appendChild(e);
		});
		await page.waitForTimeout(200);
		if (await page.evaluate(() => window.__csp) !== undefined)
			throw new Error("an added script ran");
	});

	await check("an API error is shown in the message area, the page stays", async () => {
		await page.route("**/v1/rollouts", (r) => r.fulfill({ status: 503, contentType: "application/json",
			body: JSON.stringify({ error: { code: "unavailable", message: "test outage" } }) }), { times: 1 });
		await page.click("nav a[data-view=rollouts]");
		await page.waitForSelector("[data-testid=message]:has-text('test outage')");
		await page.waitForSelector(`${ro}`);
	});
	// The fleet again, with the rollout under way and a node drained:
	// fleet.png is the picture in the README.
	await page.click("nav a[data-view=fleet]");
	await until(async () => (await tiles(page)) === nodes.length, "tiles");
	const bottom = await page.evaluate(() => document.getElementById("app").getBoundingClientRect().bottom);
	await page.screenshot({ path: `${SHOTS}/fleet.png`,
		clip: { x: 0, y: 0, width: 1400, height: Math.min(900, Math.ceil(bottom) + 16) } });
	await check("detailed tiles show each node's name, health and versions", async () => {
		await page.click("[data-testid=tile-size]");
		const t = page.locator(`.tiles.large [data-testid=node-tile][data-node="${canary}"]`);
		await t.waitFor();
		const want = nodes.find((n) => n.id === canary).hostname;
		const text = await t.textContent();
		if (!text.includes(want) || !text.includes(`p ${pv}`)) throw new Error(`tile says "${text}"`);
	});
	await page.screenshot({ path: `${SHOTS}/fleet-detailed.png` });
	await page.context().close();

	// A viewer: signs in through the form, sees everything, gets no button.
	const vp = await newPage({ width: 1000, height: 800 });
	await check("without a token the page asks for one", async () => {
		await vp.goto(URL + "/");
		await vp.waitForSelector("[data-testid=token-input]", { state: "visible" });
	});
	await check("a viewer token entered in the form logs in", async () => {
		await vp.fill("[data-testid=token-input]", VIEWER);
		await vp.click("[data-testid=token-save]");
		await vp.waitForSelector("body[data-role=viewer]");
		await until(async () => (await tiles(vp)) === nodes.length, "tiles");
	});
	await check("the viewer sees the rollouts but no operator button", async () => {
		const n = await vp.locator(OPERATOR_BUTTONS).count();
		await vp.click("nav a[data-view=rollouts]");
		await vp.waitForSelector(ro);
		const r = await vp.locator(OPERATOR_BUTTONS).count();
		await vp.goto(`${URL}/#/node/${canary}`);
		await vp.waitForSelector(`[data-testid=node-detail][data-node="${canary}"]`);
		const d = await vp.locator(OPERATOR_BUTTONS).count();
		const any = await vp.locator("main button:not([data-testid=tile-size])").count();
		if (n + r + d + any !== 0) throw new Error(`buttons: fleet ${n}, rollouts ${r}, node ${d}, main ${any}`);
	});
	await check("a refused token brings the form back", async () => {
		await vp.evaluate(() => localStorage.setItem("edgefleet.token", "efa_not-a-token"));
		await vp.reload();
		await vp.waitForSelector("[data-testid=token-input]", { state: "visible" });
	});
	await vp.context().close();

	// The stream client on its own: frames served by the test, then a
	// reconnect that must carry the last id seen.
	const sp = await newPage();
	let calls = 0, resumedFrom = null;
	const frame = (id, kind) => `id: ${id}\nevent: ${kind}\ndata: ` + JSON.stringify({ id, ts: 1700000000,
		actor: "test", action: kind, object: "n-test", detail: "{\"from\":\"healthy\",\"to\":\"degraded\"}" }) + "\n\n";
	await sp.route("**/v1/events/stream**", (r) => {
		calls++;
		if (calls === 1)
			return r.fulfill({ status: 200, contentType: "text/event-stream",
				body: "retry: 200\n\n" + frame(9000001, "node.health") + ": keepalive\n\n" +
					frame(9000002, "rollout.move") });
		if (calls === 2) {
			resumedFrom = r.request().headers()["last-event-id"];
			return r.fulfill({ status: 200, contentType: "text/event-stream", body: frame(9000003, "node.drain") });
		}
		return r.fulfill({ status: 503, contentType: "application/json",
			body: JSON.stringify({ error: { code: "unavailable", message: "test" } }) });
	});
	await check("the feed parses SSE frames and reconnects with Last-Event-ID", async () => {
		await sp.goto(`${URL}/#token=${ADMIN}`);
		await sp.click("nav a[data-view=events]");
		await sp.waitForSelector("[data-testid=event][data-event-id='9000003'][data-kind='node.drain']");
		await sp.waitForSelector("[data-testid=event][data-event-id='9000001'][data-kind='node.health']");
		if (resumedFrom !== "9000002") throw new Error(`Last-Event-ID ${resumedFrom}`);
	});
	await check("...and says it is offline while it cannot reconnect", async () => {
		await sp.waitForSelector("[data-testid=live][data-live=off]");
	});
	await sp.context().close();
}

// Every tile of a large fleet, timed (printed, never judged).
async function scale() {
	const n = (await api("GET", "/v1/fleet")).nodes;
	const page = await newPage({ width: 1920, height: 1080 });
	const t0 = Date.now();
	await page.goto(`${URL}/#token=${ADMIN}`);
	const shown = await check(`${n} nodes: every tile is rendered`, async () => {
		await until(async () => (await tiles(page)) === n, "tiles", 120000);
	});
	if (shown) console.log(`# ${n} nodes: page load to every tile rendered in ${Date.now() - t0} ms`);
	await check(`${n} nodes: the counts are the API's`, async () => {
		await until(() => countsMatch(page), "counts");
	});
	await page.screenshot({ path: `${SHOTS}/fleet-${n}.png`, fullPage: false });
	await page.context().close();
}

// The two-person rule (edge-cp serve --two-person): an upload that waits
// for a second admin and a rollout that waits for a second person's
// promote, as the page shows them, and its buttons, used by EF_ADMIN (a
// second person to the uploader "a1" and to "op", who made the rollout
// and froze the fleet).
async function twoperson() {
	const page = await newPage();
	const up = "[data-testid=pending-release][data-release=\"dataplane/1.0\"]";
	const ro = "[data-testid=rollout][data-state=approval]";
	await page.goto(`${URL}/#token=${ADMIN}`);
	await page.waitForSelector("body[data-role=admin]");
	await page.evaluate(() => { location.hash = "#/rollouts"; });
	await check("an upload waiting for a second admin is shown, with its uploader", async () => {
		const t = await until(async () => (await page.locator(up).count()) === 1 &&
			page.locator(up).textContent(), "the pending upload");
		if (!/uploaded by a1/.test(t) || !/not signed yet/.test(t)) throw new Error(t);
	});
	await check("a rollout waiting for a second person says so", async () => {
		await page.waitForSelector(`${ro} [data-testid=rollout-second-person]`, { timeout: WAIT_MS });
		const t = await page.locator(`${ro} [data-testid=rollout-second-person-why]`).textContent();
		if (!/other than op/.test(t)) throw new Error(t);
	});
	await check("...and offers promote and abort, never pause", async () => {
		if (await page.locator(`${ro} [data-testid=rollout-pause]`).count() !== 0 ||
		    await page.locator(`${ro} [data-testid=rollout-promote]`).count() !== 1)
			throw new Error(await page.locator(ro).innerHTML());
	});
	await check("the freeze banner names who froze the fleet", async () => {
		await until(async () => /Frozen by op/.test(await page.locator("[data-testid=freeze-banner]").textContent()),
			"Frozen by op");
	});
	await page.screenshot({ path: `${SHOTS}/two-person.png`, fullPage: true });
	await check("Approve on the page makes the upload a release", async () => {
		await page.click(`${up} [data-testid=release-approve]`);
		await until(async () => (await api("GET", "/v1/releases")).releases
			.some((r) => r.version === "1.0" && r.state === "released"), "a release");
		await until(async () => (await page.locator(up).count()) === 0, "the pending row gone");
	});
	await check("Promote on the page lets the rollout go on", async () => {
		const id = await page.locator(ro).getAttribute("data-rollout");
		await page.click(`${ro} [data-testid=rollout-promote]`);
		await until(async () => (await api("GET", `/v1/rollouts/${id}`)).state !== "approval", "not waiting");
	});
	await check("Lift the freeze on the page, as another token than op's", async () => {
		await page.click("[data-testid=unfreeze]");
		await until(async () => (await api("GET", "/v1/fleet")).frozen === false, "unfrozen");
	});
	await page.context().close();
}

try {
	if (process.argv[2] === "scale") await scale();
	else if (process.argv[2] === "twoperson") await twoperson();
	else await main();
} catch (e) {
	notOk("the browser test ran to its end", e.stack || e);
} finally {
	await browser.close();
	await apiCtx.dispose();
}
process.exit(failed ? 1 : 0);
