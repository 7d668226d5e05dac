// lic-portal's page: read an activation request (camera, picture, pasted
// text, or the URL fragment a phone's camera app opened), show what it is
// about, activate, offer the machine file. The request text goes to the
// portal only in POST bodies, never in a URL.
"use strict";

(function () {
  var $ = function (id) { return document.getElementById(id); };
  var current = null;   // the request text being handled
  var stream = null;    // the camera, while scanning
  var timer = null;
  var fileUrl = null;   // the blob: URL of the offered file
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });

  var TONE = {
    activated: "good", already_activated: "good",
    locked_elsewhere: "warn", machine_limit: "warn", expired: "warn",
    suspended: "bad", banned: "bad", unknown_key: "bad", not_allowed: "bad",
    invalid_request: "bad", unavailable: "warn", refused: "bad"
  };
  var BADGE = { good: "Done", warn: "Not activated", bad: "Not activated" };

  function show(state) {
    document.body.setAttribute("data-state", state);
    $("start").hidden = state !== "start";
    $("confirm").hidden = state !== "confirm";
    $("result").hidden = state !== "result";
    window.scrollTo(0, 0);
  }

  function readError(text) {
    var p = $("read-error");
    p.textContent = text;
    p.hidden = !text;
  }

  function post(path, text) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ request: text }),
      cache: "no-store",
      credentials: "omit"
    }).then(function (r) {
      return r.json().then(
        function (body) { return { status: r.status, body: body }; },
        function () { return { status: r.status, body: null }; });
    });
  }

  function short(fp) {
    return fp.length > 20 ? fp.slice(0, 8) + "…" + fp.slice(-6) : fp;
  }

  function fillSummary(dl, m) {
    dl.textContent = "";
    var rows = [
      ["App", m.app],
      ["Machine", m.hostname],
      ["Platform", m.platform],
      ["Fingerprint", m.fingerprint ? short(m.fingerprint) : null, m.fingerprint],
      ["License key", m.key_hint]
    ];
    rows.forEach(function (row) {
      if (!row[1]) return;
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      dd.textContent = row[1];
      if (row[2]) dd.title = row[2];
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  // A request from any source: ask the portal what it is about (no
  // activation yet), then let the person confirm.
  function useText(text) {
    text = (text || "").trim();
    readError("");
    if (!text) { readError("Paste the text shown under the code first."); return; }
    post("/api/inspect", text).then(function (r) {
      if (r.status === 200 && r.body) {
        current = text;
        fillSummary($("summary"), r.body);
        $("activate").disabled = false;
        $("activate").textContent = "Activate and get the license file";
        show("confirm");
      } else if (r.body && r.body.title) {
        readError(r.body.title + ". " + r.body.message);
      } else {
        readError("The portal could not read that (HTTP " + r.status + ").");
      }
    }, function () {
      readError("The portal did not answer. Check the connection and try again.");
    });
  }

  function showResult(o) {
    var tone = TONE[o.outcome] || "bad";
    $("result").setAttribute("data-tone", tone);
    $("result").setAttribute("data-outcome", o.outcome || "error");
    $("result-badge").textContent = o.file ? BADGE.good : BADGE[tone];
    $("result-title").textContent = o.title;
    $("result-message").textContent = o.message;
    if (fileUrl) { URL.revokeObjectURL(fileUrl); fileUrl = null; }
    if (o.file) {
      fileUrl = URL.createObjectURL(new Blob([o.file.text], { type: "application/octet-stream" }));
      var a = $("download");
      a.href = fileUrl;
      a.setAttribute("download", o.file.name);
      $("file-facts").textContent = o.file.name + " · " +
        (o.file.expires ? "valid until " + o.file.expires : "does not expire");
    }
    $("file-box").hidden = !o.file;
    fillSummary($("result-summary"), o.machine || {});
    $("detail-box").hidden = !o.detail;
    $("result-detail").textContent = o.detail || "";
    show("result");
  }

  $("activate").addEventListener("click", function () {
    var button = $("activate");
    button.disabled = true;
    button.textContent = "Activating…";
    post("/api/activate", current).then(function (r) {
      if (r.body && r.body.outcome) { showResult(r.body); return; }
      showResult({ outcome: "unavailable", title: "The portal could not finish",
        message: "It answered HTTP " + r.status + ". Nothing was changed; please try again." });
    }, function () {
      showResult({ outcome: "unavailable", title: "The portal did not answer",
        message: "Check the connection and try again. If the machine was activated meanwhile, trying again gives its file." });
    });
  });

  function restart() {
    current = null;
    $("paste").value = "";
    readError("");
    show("start");
  }
  $("restart").addEventListener("click", restart);
  $("again").addEventListener("click", restart);
  $("paste-go").addEventListener("click", function () { useText($("paste").value); });

  // Reads a QR code from a video frame or an image, scaled to at most `max` px.
  function decode(source, w, h, max) {
    if (!w || !h || typeof jsQR !== "function") return null;
    var scale = Math.min(1, max / Math.max(w, h));
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    ctx.fillStyle = "#fff";  // transparent pictures read as white, not black
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    var code = jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
    return code && code.data ? code.data : null;
  }

  // The camera.
  function stopScan() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    $("video").srcObject = null;
    $("camera").hidden = true;
  }

  function tick() {
    if (!stream) return;
    var v = $("video");
    if (v.readyState >= 2 && v.videoWidth) {
      var found = decode(v, v.videoWidth, v.videoHeight, 960);
      if (found) { stopScan(); useText(found); return; }
    }
    timer = setTimeout(tick, 120);
  }

  $("scan").addEventListener("click", function () {
    readError("");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      readError("This page cannot use the camera: browsers allow it only on secure pages (https:// or this computer's own address). Upload a picture of the code, or paste its text.");
      return;
    }
    stopScan();
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (s) {
        stream = s;
        var v = $("video");
        v.srcObject = s;
        $("camera").hidden = false;
        return v.play();
      })
      .then(tick, function (e) {
        stopScan();
        readError("The camera could not be opened (" + (e && e.name ? e.name : "refused") + "). Allow the camera for this page, or upload a picture of the code instead.");
      });
  });
  $("stop-scan").addEventListener("click", stopScan);

  // A picture: a photo, a screenshot, the PNG or SVG lic wrote.
  $("upload").addEventListener("change", function () {
    var input = $("upload");
    var file = input.files && input.files[0];
    if (!file) return;
    readError("");
    stopScan();
    var url = URL.createObjectURL(file);
    var img = new Image();
    img.onload = function () {
      var w = img.naturalWidth || img.width, h = img.naturalHeight || img.height;
      var found = null;
      [1000, 1600, 600, 2400].some(function (max) { found = decode(img, w, h, max); return !!found; });
      URL.revokeObjectURL(url);
      input.value = "";
      if (found) useText(found);
      else readError("No QR code found in that picture. Take it again with the whole code sharp and in view, or paste the text shown under the code.");
    };
    img.onerror = function () {
      URL.revokeObjectURL(url);
      input.value = "";
      readError("That file is not a picture this browser can open.");
    };
    img.src = url;
  });

  // A phone's camera app opened <portal>#lic1.…: the request is in the
  // fragment, which never reached the server. Take it and clear it from
  // the address bar and history.
  function fromFragment() {
    var hash = window.location.hash;
    if (hash.indexOf("#lic") !== 0) return;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    useText(hash.slice(1));
  }
  window.addEventListener("hashchange", fromFragment);
  fromFragment();
})();
