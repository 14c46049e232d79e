// H.264 lanes in the page: when the browser's WebCodecs decodes H.264 and a camera's node
// publishes a lane (/api/cameras: info.video), the tile asks the socket for the lane
// ({"camera", "video"}) and draws decoded frames into its canvas; otherwise, or after a
// decoder error, it stays on JPEG frames. The tile says which: section.camera[data-codec]
// is "h264" or "jpeg", and the stats line names it.
// Lane message: [0x80 | id_len][id][u16 LE attachment length][attachment][access unit];
// the attachment is the frame metadata (32 bytes) then version, flags (bit 0: keyframe),
// and on keyframes the codec string (docs/protocol.md, "The H.264 lane").
"use strict";

const h264 = {
  // null until known: whether this browser decodes constrained-baseline H.264.
  supported: null,
  // "/?codec=jpeg": JPEG frames on every tile, e.g. to compare the two.
  forcedJpeg: new URLSearchParams(location.search).get("codec") === "jpeg",
};

// Capture-to-canvas latency of frames drawn on tile `v` (the last 300, for the benchmark's
// glass-to-canvas figures, docs/benchmarks.md) and the one the stats line shows.
function noteLatency(v, ms) {
  v.latencyMs = ms;
  if (!v.latencies) v.latencies = [];
  v.latencies.push(ms);
  if (v.latencies.length > 300) v.latencies.shift();
}

(async () => {
  if (typeof VideoDecoder === "undefined") {
    h264.supported = false;
    return;
  }
  try {
    const probe = await VideoDecoder.isConfigSupported({ codec: "avc1.42E01F" });
    h264.supported = probe.supported === true;
  } catch (error) {
    h264.supported = false;
  }
})();

// The lane tile `v` should show: the smallest one at least as wide as the tile's device
// pixels, else the widest; null when the browser cannot decode or the camera has none.
function pickLane(v) {
  if (h264.supported !== true || h264.forcedJpeg || v.videoFailed) return null;
  const lanes = (v.api && v.api.info && v.api.info.video) || [];
  const needed = v.canvas.clientWidth * (window.devicePixelRatio || 1);
  let best = null;
  for (const lane of lanes) {
    const fits = lane.width >= needed;
    if (!best || (fits && (best.width < needed || lane.width < best.width)) ||
        (!fits && best.width < needed && lane.width > best.width)) best = lane;
  }
  return best ? best.name : null;
}

function isVideoMessage(buffer) {
  return (new Uint8Array(buffer, 0, 1)[0] & 0x80) !== 0;
}

function parseVideo(buffer) {
  const bytes = new Uint8Array(buffer);
  const idLen = bytes[0] & 0x7f;
  const id = new TextDecoder().decode(bytes.subarray(1, 1 + idLen));
  const view = new DataView(buffer, 1 + idLen);
  const attachmentLen = view.getUint16(0, true);
  const at = 3 + idLen;
  const meta = new DataView(buffer, at, attachmentLen);
  const seq = meta.getUint32(16, true) + meta.getUint32(20, true) * 4294967296;
  const tsMs = (meta.getUint32(24, true) + meta.getUint32(28, true) * 4294967296) / 1e6;
  const keyframe = (meta.getUint8(33) & 1) === 1;
  let codec = null;
  if (keyframe) {
    const codecLen = meta.getUint8(34);
    codec = new TextDecoder().decode(bytes.subarray(at + 35, at + 35 + codecLen));
  }
  return { id, seq, tsMs, keyframe, codec, data: bytes.subarray(at + attachmentLen) };
}

// Falls back to JPEG frames for good on this tile (until the page reloads).
function videoFailed(v, why) {
  v.videoFailed = why;
  closeDecoder(v);
  v.section.dataset.codec = "jpeg";
  applyVariant(v);
}

function closeDecoder(v) {
  if (v.decoder && v.decoder.state !== "closed") v.decoder.close();
  v.decoder = null;
  v.codec = null;
}

function decoderFor(v, unit) {
  if (v.decoder && unit.keyframe && unit.codec !== v.codec) closeDecoder(v);
  if (v.decoder) return v.decoder;
  if (!unit.keyframe) return null; // wait for a keyframe to start from
  const capture = new Map(); // chunk timestamp -> capture time (ms), for the latency shown
  v.decoder = new VideoDecoder({
    output: (frame) => {
      if (v.canvas.width !== frame.displayWidth) v.canvas.width = frame.displayWidth;
      if (v.canvas.height !== frame.displayHeight) v.canvas.height = frame.displayHeight;
      v.ctx.drawImage(frame, 0, 0);
      const tsMs = capture.get(frame.timestamp);
      capture.delete(frame.timestamp);
      frame.close();
      v.drawn += 1;
      v.videoDrawn = (v.videoDrawn || 0) + 1;
      if (tsMs !== undefined) noteLatency(v, Date.now() - tsMs);
      if (capture.size > 64) capture.clear();
    },
    error: (error) => videoFailed(v, String(error)),
  });
  v.decoder.capture = capture;
  v.decoder.configure({ codec: unit.codec, optimizeForLatency: true });
  v.codec = unit.codec;
  v.section.dataset.codec = "h264";
  return v.decoder;
}

// One access unit for tile `v`: decoded in order; a tile that waits for a keyframe drops
// the deltas before it (the gateway sends a keyframe first, and after any loss).
function showVideo(v, unit) {
  if (!v.lane || v.videoFailed) return;
  let decoder;
  try {
    decoder = decoderFor(v, unit);
  } catch (error) {
    videoFailed(v, String(error));
    return;
  }
  if (!decoder || decoder.state !== "configured") return;
  const timestamp = unit.seq * 1000;
  decoder.capture.set(timestamp, unit.tsMs);
  v.lastSeq = unit.seq;
  try {
    decoder.decode(new EncodedVideoChunk({
      type: unit.keyframe ? "key" : "delta", timestamp, data: unit.data,
    }));
  } catch (error) {
    videoFailed(v, String(error));
  }
}
