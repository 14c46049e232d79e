// Camera page: polls /api/cameras every second for the list and state, and receives every
// camera's frames over one WebSocket (/ws), drawing each into its <canvas class="live">.
// Each tile asks the socket for the smallest variant its camera node encodes that still fills
// the tile ({"camera", "variant"} messages), so a grid of cameras on a phone pulls previews.
// DOM contract (relied on by tests): section.camera[data-camera][data-state][data-robot],
// canvas.live (width/height = last drawn frame), span.state, span.stats, a.snapshot, a.clip,
// p.conflict (shown while several publishers put frames on the camera's key). Tiles are
// grouped by robot (the camera's prefix, /api/cameras "robot") in div.robot[data-robot],
// whose h2.robot-name heading shows only when the page holds more than one robot.
// A tile whose camera has an H.264 lane shows it through WebCodecs when the browser can
// (video.js, loaded first); section.camera[data-codec] says "h264" or "jpeg".
"use strict";

const views = new Map(); // camera id -> view state
const groups = new Map(); // robot ("" for ROS 2 topics) -> div.robot
const grid = document.getElementById("cameras");
const link = document.getElementById("link");
let socket = null;

// Inserts `element` among `parent`'s children matching `selector`, sorted by `key`.
function insertSorted(parent, selector, element, key, keyOf) {
  const after = [...parent.querySelectorAll(":scope > " + selector)]
    .find((other) => keyOf(other) > key);
  parent.insertBefore(element, after || null);
}

// The group of robot `robot`, created in order on first use.
function group(robot) {
  let g = groups.get(robot);
  if (g) return g;
  g = document.createElement("div");
  g.className = "robot";
  g.dataset.robot = robot;
  const heading = document.createElement("h2");
  heading.className = "robot-name";
  heading.textContent = robot || "ROS 2 topics";
  g.append(heading);
  insertSorted(grid, "div.robot", g, robot, (other) => other.dataset.robot);
  groups.set(robot, g);
  return g;
}

// Moves tile `v` into its robot's group once /api/cameras told it, keeping ids sorted.
function place(v, camera) {
  const robot = camera.robot || "";
  if (v.robot === robot) return;
  v.robot = robot;
  v.name = camera.camera || v.id;
  v.section.dataset.robot = robot;
  insertSorted(group(robot), "section.camera", v.section, v.id, (s) => s.dataset.camera);
}

// Robot headings only when there is more than one robot; a tile under a heading shows the
// camera's own name, otherwise its id (which names the robot when ids carry it).
function renderGroups() {
  const several = groups.size > 1;
  groups.forEach((g) => {
    const heading = g.querySelector("h2.robot-name");
    if (heading.hidden === several) heading.hidden = !several;
  });
  views.forEach((v) => {
    const text = several && v.name ? v.name : v.id;
    if (v.title.textContent !== text) v.title.textContent = text;
  });
}

function view(id) {
  let v = views.get(id);
  if (v) return v;
  const section = document.createElement("section");
  section.className = "camera";
  section.dataset.camera = id;
  section.dataset.state = "online";
  section.dataset.codec = "jpeg";
  const header = document.createElement("header");
  const title = document.createElement("h2");
  title.textContent = id;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = "online";
  header.append(title, state);
  const canvas = document.createElement("canvas");
  canvas.className = "live";
  canvas.width = 640;
  canvas.height = 480;
  const meta = document.createElement("div");
  meta.className = "meta";
  const stats = document.createElement("span");
  stats.className = "stats";
  stats.textContent = "waiting for frames…";
  const snapshot = document.createElement("a");
  snapshot.className = "snapshot";
  snapshot.href = "/cameras/" + encodeURIComponent(id) + "/snapshot.jpg";
  snapshot.target = "_blank";
  snapshot.textContent = "Snapshot";
  // "What just happened": the gateway's clip buffer as an MCAP file for Foxglove (404 JSON
  // when the gateway runs with --clip-buffer 0).
  const clip = document.createElement("a");
  clip.className = "clip";
  clip.href = "/cameras/" + encodeURIComponent(id) + "/clip.mcap";
  clip.download = id + ".mcap";
  clip.textContent = "Clip (MCAP)";
  clip.title = "Download what just happened (the clip buffer) as MCAP, for Foxglove";
  meta.append(stats, snapshot, clip);
  const conflict = document.createElement("p");
  conflict.className = "conflict";
  conflict.hidden = true;
  section.append(header, conflict, canvas, meta);
  // Sorted by id so the layout does not jump around; moved into its robot's group by place().
  insertSorted(grid, "section.camera", section, id, (s) => s.dataset.camera);
  document.getElementById("empty").hidden = true;
  v = { id, section, title, state, conflict, canvas, ctx: canvas.getContext("2d"), stats,
        drawing: false, pending: null, drawn: 0, lastSeq: null, latencyMs: null, api: null,
        variant: null, variantSent: false, robot: null, name: null,
        lane: null, decoder: null, codec: null, videoFailed: null };
  views.set(id, v);
  return v;
}

function setState(v, online) {
  const text = online ? "online" : "offline";
  if (v.section.dataset.state !== text) v.section.dataset.state = text;
  if (v.state.textContent !== text) v.state.textContent = text;
}

// What the camera sends: the last drawn frame, else the gateway's last frame, else the size
// the node reports in its info (a camera that has not sent a frame yet still has a size).
function sizeText(v, api) {
  if (v.drawn > 0) return v.canvas.width + "x" + v.canvas.height;
  if (api.width && api.height) return api.width + "x" + api.height;
  const info = api.info;
  if (info && info.width && info.height) return info.width + "x" + info.height;
  return "–";
}

// Two robots at one prefix: the gateway shows one and ignores the others; say so on the tile.
function renderConflict(v, conflict) {
  v.conflict.hidden = !conflict;
  if (!conflict) return;
  const text = conflict.sources + " publishers on this camera: showing " + conflict.serving +
    ", ignoring " + conflict.ignored.join(", ") + ". Give each robot its own --prefix.";
  if (v.conflict.textContent !== text) v.conflict.textContent = text;
}

function renderStats(v) {
  const api = v.api || {};
  const fps = typeof api.fps === "number" ? api.fps.toFixed(1) : "–";
  const latency = v.latencyMs !== null ? Math.max(0, v.latencyMs).toFixed(0)
    : (api.latency_ms != null ? api.latency_ms.toFixed(0) : "–");
  const size = sizeText(v, api);
  const clients = api.clients != null ? api.clients : "–";
  const frame = v.lastSeq !== null ? " · frame " + v.lastSeq : "";
  const shown = v.lane ? "H.264 " + v.lane : "JPEG " + (v.variant || "full");
  v.stats.textContent = fps + " fps · " + latency + " ms · " + size + " " +
    shown + " · " + clients + (api.clients === 1 ? " client" : " clients") +
    frame;
}

// The smallest node variant at least as wide as the tile's device pixels, else null (full
// frames): a variant never has more pixels than the camera, so nothing sharper is lost.
function pickVariant(v) {
  const variants = (v.api && v.api.variants) || [];
  const needed = v.canvas.clientWidth * (window.devicePixelRatio || 1);
  let best = null;
  for (const variant of variants) {
    if (variant.width >= needed && (!best || variant.width < best.width)) best = variant;
  }
  return best ? best.name : null;
}

// Tells the socket which frames tile `v` wants (an H.264 lane, else a JPEG variant or full
// frames), when that changed or was not sent yet.
function applyVariant(v) {
  const lane = pickLane(v);
  const wanted = lane ? null : pickVariant(v);
  if (lane === v.lane && wanted === v.variant && v.variantSent) return;
  if (lane !== v.lane) {
    closeDecoder(v);
    v.section.dataset.codec = "jpeg";
  }
  v.lane = lane;
  v.variant = wanted;
  v.variantSent = false;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(lane ? { camera: v.id, video: lane }
      : { camera: v.id, variant: wanted }));
    v.variantSent = true;
  }
  renderStats(v);
}

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => views.forEach(applyVariant), 250);
});

async function poll() {
  try {
    // Absolute from location.origin: a page opened as http://user:pass@host/ has credentials
    // in its base URL, and fetch() refuses relative URLs that resolve to one.
    const response = await fetch(new URL("/api/cameras", location.origin), { cache: "no-store" });
    if (response.ok) {
      for (const camera of await response.json()) {
        const v = view(camera.id);
        v.api = camera;
        place(v, camera);
        setState(v, camera.online);
        renderConflict(v, camera.conflict);
        renderStats(v);
        applyVariant(v);
      }
      renderGroups();
    }
  } catch (error) {
    link.textContent = "gateway unreachable";
    link.dataset.state = "closed";
  }
}

// Frame message: [u8 id_len][id][meta: u8 version, u8 flags, u16 len, u32 w, u32 h,
// u32 generation, u64 seq, u64 capture_ts_ns (little endian)][JPEG].
function parse(buffer) {
  const bytes = new Uint8Array(buffer);
  const idLen = bytes[0];
  const id = new TextDecoder().decode(bytes.subarray(1, 1 + idLen));
  const meta = new DataView(buffer, 1 + idLen);
  const metaLen = meta.getUint16(2, true);
  const seq = meta.getUint32(16, true) + meta.getUint32(20, true) * 4294967296;
  const tsMs = (meta.getUint32(24, true) + meta.getUint32(28, true) * 4294967296) / 1e6;
  const online = (meta.getUint8(1) & 1) === 1;
  const jpeg = bytes.subarray(1 + idLen + metaLen);
  return { id, seq, tsMs, online, jpeg };
}

// Decoding is asynchronous; while one frame decodes only the newest waiting frame is kept.
async function draw(v) {
  if (v.drawing || !v.pending) return;
  v.drawing = true;
  const frame = v.pending;
  v.pending = null;
  try {
    const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }));
    if (v.canvas.width !== bitmap.width) v.canvas.width = bitmap.width;
    if (v.canvas.height !== bitmap.height) v.canvas.height = bitmap.height;
    v.ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    v.drawn += 1;
    if (frame.online) {
      v.lastSeq = frame.seq;
      noteLatency(v, Date.now() - frame.tsMs);
    }
  } catch (error) {
    // A frame that does not decode is skipped; the next one replaces it.
  }
  v.drawing = false;
  draw(v);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + "/ws");
  socket.binaryType = "arraybuffer";
  link.textContent = "connecting…";
  link.dataset.state = "connecting";
  socket.onopen = () => {
    link.textContent = "live";
    link.dataset.state = "open";
    // A new socket starts with full frames for every camera.
    views.forEach((v) => {
      v.variantSent = false;
      closeDecoder(v);
      applyVariant(v);
    });
  };
  socket.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return;
    if (isVideoMessage(event.data)) {
      const unit = parseVideo(event.data);
      showVideo(view(unit.id), unit);
      return;
    }
    const frame = parse(event.data);
    const v = view(frame.id);
    v.pending = frame;
    draw(v);
  };
  socket.onclose = () => {
    link.textContent = "reconnecting…";
    link.dataset.state = "closed";
    setTimeout(connect, 1000);
  };
}

poll();
setInterval(poll, 1000);
connect();
