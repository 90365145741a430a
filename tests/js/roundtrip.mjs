// The decrypt round trip with matrix-js-sdk and its Rust crypto
// (initRustCrypto): alice and bob, each a client with its own device,
// in an encrypted room on the stack at argv[2]; alice sends, bob
// decrypts.  Prints "ok <plaintext>" and exits 0, else exits 1 saying why.
import * as sdk from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("warn");
const base = process.argv[2];
const tag = process.argv[3] || String(process.pid);

async function register(name) {
	const r = await fetch(base + "/_matrix/client/v3/register", {
		method: "POST", headers: { "Content-Type": "application/json" },
		body: JSON.stringify({ username: name, password: "js-secret-1",
		    auth: { type: "m.login.dummy" } }) });
	const b = await r.json();
	if (r.status !== 200)
		throw new Error("register " + name + ": " + JSON.stringify(b));
	return b;
}

async function client(name) {
	const reg = await register(name);
	const c = sdk.createClient({ baseUrl: base, userId: reg.user_id,
	    accessToken: reg.access_token, deviceId: reg.device_id });
	await c.initRustCrypto({ useIndexedDB: false });
	await c.startClient({ initialSyncLimit: 10 });
	await new Promise((res) => c.once(sdk.ClientEvent.Sync, (state) => res(state)));
	return c;
}

function until(what, ms, fn) {
	return new Promise((res, rej) => {
		const t = setTimeout(() => rej(new Error("timed out: " + what)), ms);
		const poll = async () => {
			try {
				const v = await fn();
				if (v) { clearTimeout(t); res(v); return; }
			} catch (e) { clearTimeout(t); rej(e); return; }
			setTimeout(poll, 100);
		};
		poll();
	});
}

async function main() {
	const alice = await client("jsalice" + tag);
	const bob = await client("jsbob" + tag);
	const { room_id: rid } = await alice.createRoom({ preset: "private_chat",
	    invite: [bob.getUserId()], initial_state: [{ type: "m.room.encryption",
	    state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] });
	await until("bob's invite", 20000, () => bob.getRoom(rid));
	await bob.joinRoom(rid);
	await until("bob joined on alice's side", 20000, () =>
	    alice.getRoom(rid)?.getMember(bob.getUserId())?.membership === "join");
	await until("the room encrypted on alice's side", 20000, () =>
	    alice.isRoomEncrypted(rid));
	const text = "secret from js " + tag;
	const { event_id: eid } = await alice.sendEvent(rid, "m.room.message",
	    { msgtype: "m.text", body: text });
	const ev = await until("bob's copy of the message", 30000, () =>
	    bob.getRoom(rid)?.getLiveTimeline().getEvents().find((e) => e.getId() === eid));
	if (ev.getWireType() !== "m.room.encrypted")
		throw new Error("not encrypted on the wire: " + ev.getWireType());
	await until("bob's decryption", 30000, async () => {
		if (ev.isBeingDecrypted() || ev.getType() === "m.room.encrypted") {
			if (ev.isDecryptionFailure())
				await ev.attemptDecryption(bob.getCrypto(), { isRetry: true });
			return ev.getType() !== "m.room.encrypted";
		}
		return true;
	});
	const got = ev.getClearContent()?.body;
	alice.stopClient();
	bob.stopClient();
	if (got !== text)
		throw new Error("bob read " + JSON.stringify(got));
	console.log("ok " + got);
}

main().then(() => process.exit(0), (e) => { console.error(e?.stack || String(e)); process.exit(1); });
