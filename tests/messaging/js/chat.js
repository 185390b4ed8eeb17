// Two official socket.io-client sockets chat through a live Tutorhub server; prints a JSON report.
// usage: node chat.js <json {url, tokenA, tokenB, conversationId}>
const { io } = require("socket.io-client");

const cfg = JSON.parse(process.argv[2]);
const report = {};
const fail = (why) => { console.log(JSON.stringify({ ok: false, why, report })); process.exit(1); };
setTimeout(() => fail("timeout"), 15000);

const connect = (token) => new Promise((resolve, reject) => {
  const socket = io(cfg.url, { auth: { token }, transports: ["websocket"], reconnection: false });
  socket.on("connect", () => resolve(socket));
  socket.on("connect_error", (err) => reject(err));
});
const once = (socket, event, pred = () => true) => new Promise((resolve) => {
  const handler = (data) => { if (pred(data)) { socket.off(event, handler); resolve(data); } };
  socket.on(event, handler);
});

(async () => {
  try {
    await connect("bogus-token");
    report.badTokenRefused = false;
  } catch (err) {
    report.badTokenRefused = true;
  }
  const a = await connect(cfg.tokenA);
  const b = await connect(cfg.tokenB);
  const gotNew = once(b, "message:new");
  const ack = await a.timeout(5000).emitWithAck("message:send",
    { conversation_id: cfg.conversationId, body: "hello from node", client_id: "js-1" });
  report.ack = ack;
  report.received = await gotNew;
  const again = await a.timeout(5000).emitWithAck("message:send",
    { conversation_id: cfg.conversationId, body: "hello from node", client_id: "js-1" });
  report.duplicateAck = again;
  const gotTyping = once(a, "typing");
  await b.timeout(5000).emitWithAck("typing", { conversation_id: cfg.conversationId });
  report.typing = await gotTyping;
  const gotRead = once(a, "message:read");
  report.readAck = await b.timeout(5000).emitWithAck("message:read",
    { conversation_id: cfg.conversationId, up_to_message_id: ack.message.id });
  report.read = await gotRead;
  report.malformed = await a.timeout(5000).emitWithAck("message:send", "not an object");
  report.stillConnected = a.connected;
  a.close();
  b.close();
  console.log(JSON.stringify({ ok: true, report }));
  process.exit(0);
})().catch((err) => fail(String(err && err.stack || err)));
