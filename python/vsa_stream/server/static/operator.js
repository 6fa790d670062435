// The operator page: live alerts (server-sent events read with fetch, so the token travels in
// the Authorization header, never in a URL), evidence with zone and boxes, review, camera health.
// No build step, no external resource.
"use strict";

const state = {
  token: "", role: null, events: new Map(), cameras: new Map(), selected: null, abort: null,
};
const $ = (id) => document.getElementById(id);

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.token) h["Authorization"] = "Bearer " + state.token;
  return h;
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  if (response.status === 401 || response.status === 403) {
    setStatus("error", response.status === 401 ? "wrong token" : "not allowed for this token");
    throw new Error(String(response.status));
  }
  return response;
}

function setStatus(kind, text) {
  const el = $("stream-status");
  el.dataset.state = kind;
  el.textContent = text;
}

function label(ev) {
  return ev.type + " · " + ev.camera_id + (ev.zone_id ? " / " + ev.zone_id : "");
}

function upsert(ev) {
  const known = state.events.get(ev.id);
  if (known && known.revision > ev.revision) return;
  state.events.set(ev.id, ev);
  let li = document.querySelector('li.alert[data-id="' + ev.id + '"]');
  if (!li) {
    li = document.createElement("li");
    li.className = "alert";
    li.dataset.id = ev.id;
    li.addEventListener("click", () => select(ev.id));
    const title = document.createElement("span");
    title.className = "title";
    const review = document.createElement("span");
    review.className = "review";
    const when = document.createElement("div");
    when.className = "when";
    li.append(review, title, when);
    // Newest first: event ids grow with time (UUIDv7), whether they come from a page of the
    // history or from the live stream.
    const list = $("alerts");
    const older = Array.from(list.children).find((other) => other.dataset.id < ev.id);
    list.insertBefore(li, older || null);
  }
  li.dataset.review = ev.review;
  li.dataset.state = ev.state;
  li.querySelector(".title").textContent = label(ev);
  li.querySelector(".review").textContent = ev.review + (ev.review_cause ? ": " + ev.review_cause : "");
  li.querySelector(".when").textContent =
    new Date(ev.started_at * 1000).toLocaleTimeString() + " · " + ev.state;
  if (state.selected === ev.id) showDetail(ev, false);
}

async function select(id) {
  state.selected = id;
  for (const li of document.querySelectorAll("li.alert")) {
    li.classList.toggle("selected", li.dataset.id === id);
  }
  $("review-result").textContent = "";
  $("note").value = "";
  await showDetail(state.events.get(id), true);
}

async function showDetail(ev, loadImage) {
  $("detail").hidden = false;
  $("detail-title").textContent = label(ev);
  const fields = $("detail-fields");
  fields.replaceChildren();
  const rows = [["id", ev.id], ["state", ev.state], ["review", ev.review],
    ["cause", ev.review_cause || ""], ["note", ev.review_note || ""], ["started", new Date(ev.started_at * 1000).toLocaleString()],
    ["reason", ev.reason || ""]];
  for (const [k, v] of Object.entries(ev.evidence.values || {})) rows.push([k, String(v)]);
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    fields.append(dt, dd);
  }
  if (loadImage) await drawEvidence(ev);
}

async function drawEvidence(ev) {
  const canvas = $("evidence");
  const ctx = canvas.getContext("2d");
  const camera = state.cameras.get(ev.camera_id);
  let image = null;
  const note = $("snapshot-note");
  try {
    const r = await api("/api/events/" + encodeURIComponent(ev.id) + "/snapshot?kind=open");
    if (r.ok) {
      image = await createImageBitmap(await r.blob());
      note.textContent = "snapshot (persons pixelated unless configured otherwise)";
    } else {
      note.textContent = "no snapshot: zone and boxes from the evidence";
    }
  } catch (e) {
    note.textContent = "no snapshot for this token: zone and boxes from the evidence";
  }
  const size = image ? [image.width, image.height] : (camera && camera.frame_size) || [640, 360];
  canvas.width = size[0];
  canvas.height = size[1];
  ctx.fillStyle = "#333";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (image) ctx.drawImage(image, 0, 0);
  const w = canvas.width, h = canvas.height;
  const zone = camera && camera.zones.find((z) => z.id === ev.zone_id);
  if (zone) {
    const sx = zone.units === "pixels" ? 1 : w, sy = zone.units === "pixels" ? 1 : h;
    ctx.beginPath();
    zone.polygon.forEach(([x, y], i) => (i ? ctx.lineTo(x * sx, y * sy) : ctx.moveTo(x * sx, y * sy)));
    ctx.closePath();
    ctx.fillStyle = "rgba(255, 200, 0, 0.18)";
    ctx.fill();
    ctx.strokeStyle = "#ffc800";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  ctx.strokeStyle = "#ff3b30";
  ctx.lineWidth = 3;
  for (const [x0, y0, x1, y1] of ev.evidence.boxes || []) {
    ctx.strokeRect(x0 * w, y0 * h, (x1 - x0) * w, (y1 - y0) * h);
  }
}

// A verdict: confirmed, unclear, or false_alarm with its cause (one button per cause).
async function review(decision, cause) {
  const id = state.selected;
  if (!id) return;
  const out = $("review-result");
  try {
    const r = await api("/api/events/" + encodeURIComponent(id) + "/review", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ review: decision, cause: cause || null, note: $("note").value || null }),
    });
    if (!r.ok) {
      out.textContent = "review failed: " + ((await r.json()).error || r.status);
      return;
    }
    const ev = await r.json();
    upsert(ev);
    out.textContent = "recorded: " + ev.review + (ev.review_cause ? " (" + ev.review_cause + ")" : "") +
      ", revision " + ev.revision;
  } catch (e) {
    out.textContent = "review refused: " + e.message;
  }
}

async function loadCameras() {
  const r = await api("/api/cameras");
  if (!r.ok) return;
  const body = $("cameras");
  body.replaceChildren();
  for (const cam of (await r.json()).cameras) {
    state.cameras.set(cam.id, cam);
    const tr = document.createElement("tr");
    tr.dataset.state = cam.state;
    tr.dataset.camera = cam.id;
    for (const v of [cam.id, cam.state + (cam.error ? " (" + cam.error + ")" : ""), cam.decoded,
      cam.dropped, cam.analysis_fps.toFixed(1), cam.reconnects]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
}

// A viewer token cannot review: the page shows no review controls to it.
async function loadRole() {
  const r = await api("/api/me");
  state.role = r.ok ? (await r.json()).role : null;
  const operator = state.role === "operator";
  $("review-controls").hidden = !operator;
  $("viewer-note").hidden = operator;
}

async function loadEvents() {
  let after = null;
  for (let page = 0; page < 20; page++) {
    // Newest first, so the newest 10,000 events are shown however many are stored.
    const q = "/api/events?order=desc&limit=500" +
      (after ? "&after=" + encodeURIComponent(after) : "");
    const r = await api(q);
    if (!r.ok) return;
    const data = await r.json();
    data.events.forEach(upsert);
    if (!data.next) return;
    after = data.next;
  }
}

async function follow() {
  if (state.abort) state.abort.abort();
  const abort = new AbortController();
  state.abort = abort;
  let lastId = null;
  while (!abort.signal.aborted) {
    try {
      const h = lastId ? { "Last-Event-ID": lastId } : {};
      const r = await api("/api/stream", { headers: h, signal: abort.signal });
      setStatus("live", "live");
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) lastId = line.slice(4);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) upsert(JSON.parse(data));
        }
      }
    } catch (e) {
      if (abort.signal.aborted || e.message === "401" || e.message === "403") return;
    }
    setStatus("error", "reconnecting");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function connect(event) {
  if (event) event.preventDefault();
  state.token = $("token").value.trim();
  sessionStorage.setItem("vsa-token", state.token);
  setStatus("idle", "connecting");
  try {
    await loadRole();
    await loadCameras();
    await loadEvents();
  } catch (e) {
    return;
  }
  follow();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", connect);
  $("confirm").addEventListener("click", () => review("confirmed"));
  $("unclear").addEventListener("click", () => review("unclear"));
  for (const button of document.querySelectorAll("button[data-cause]")) {
    button.addEventListener("click", () => review("false_alarm", button.dataset.cause));
  }
  setInterval(() => { if (state.token || state.cameras.size) loadCameras().catch(() => {}); }, 5000);
  const saved = sessionStorage.getItem("vsa-token");
  if (saved) { $("token").value = saved; connect(null); }
});
