// reelflow console: the little behaviour the pages need. No inline scripts (the pages'
// Content-Security-Policy allows only files from /console/static).
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // -- confirmations: <form data-confirm="Delete x?"> ---------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // -- fields that depend on a select or a checkbox ------------------------------------
  // <select data-toggles="notify"> shows elements with data-for-notify~="<value>".
  function applyToggle(select) {
    const group = select.getAttribute("data-toggles");
    document.querySelectorAll(`[data-for-${group}]`).forEach((el) => {
      const values = el.getAttribute(`data-for-${group}`).split(" ");
      el.classList.toggle("hidden", !values.includes(select.value));
    });
  }
  // <input type=checkbox data-hides="video"> hides elements with data-hidden-by="video".
  function applyHide(box) {
    const group = box.getAttribute("data-hides");
    document.querySelectorAll(`[data-hidden-by="${group}"]`).forEach((el) => {
      el.classList.toggle("hidden", box.checked);
    });
  }
  function wireToggles(root) {
    root.querySelectorAll("select[data-toggles]").forEach((s) => {
      applyToggle(s);
      s.addEventListener("change", () => applyToggle(s));
    });
    root.querySelectorAll("input[data-hides]").forEach((b) => {
      applyHide(b);
      b.addEventListener("change", () => applyHide(b));
    });
  }

  // -- drag-and-drop uploads -------------------------------------------------------------
  // Each file is PUT as the raw request body (streamed by the server into storage) with
  // the session's CSRF token; XMLHttpRequest reports upload progress.
  function human(bytes) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i === 0 ? bytes : bytes.toFixed(1)) + " " + units[i];
  }

  function objectUrl(bucket, key) {
    const path = key.split("/").map(encodeURIComponent).join("/");
    return `/console/buckets/${encodeURIComponent(bucket)}/objects/${path}`;
  }

  // What an upload started, as the server answered it: a link per task, or why none.
  function startedLine(tasks) {
    const line = document.createElement("div");
    line.className = "started";
    line.dataset.tasks = String(tasks.length);
    if (!tasks.length) {
      line.textContent = "No task started: no enabled workflow matches this file.";
      return line;
    }
    line.append(tasks.length === 1 ? "Started task " : "Started tasks ");
    tasks.forEach((task, i) => {
      if (i) line.append(", ");
      const link = document.createElement("a");
      link.href = `/console/tasks/${encodeURIComponent(task.task_id)}`;
      link.textContent = task.task_id;
      line.append(link, ` (workflow #${task.workflow_id}${task.created ? "" : ", started before"})`);
    });
    return line;
  }

  function uploadOne(zone, file, list) {
    return new Promise((resolve) => {
      const key = (zone.dataset.prefix || "") + file.name;
      const item = document.createElement("li");
      const name = document.createElement("span");
      const status = document.createElement("span");
      const bar = document.createElement("progress");
      name.textContent = key;
      status.className = "status";
      status.textContent = "waiting";
      bar.max = 100;
      bar.value = 0;
      item.append(name, status, bar);
      list.append(item);

      const xhr = new XMLHttpRequest();
      xhr.open("PUT", objectUrl(zone.dataset.bucket, key));
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.floor((e.loaded / e.total) * 100);
        bar.value = pct;
        status.textContent = `${human(e.loaded)} of ${human(e.total)} · ${pct}%`;
      });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          item.classList.add("done");
          status.textContent = `uploaded · ${human(file.size)}`;
          let tasks = [];
          try { tasks = JSON.parse(xhr.responseText).tasks || []; } catch (_) { /* not JSON */ }
          item.append(startedLine(tasks));
          resolve(true);
        } else {
          let message = `failed (${xhr.status})`;
          try { message = JSON.parse(xhr.responseText).error.message || message; } catch (_) { /* not JSON */ }
          item.classList.add("failed");
          status.textContent = message;
          resolve(false);
        }
      });
      xhr.addEventListener("error", () => {
        item.classList.add("failed");
        status.textContent = "the connection failed";
        resolve(false);
      });
      status.textContent = "starting";
      xhr.send(file);
    });
  }

  async function uploadAll(zone, files) {
    const list = zone.querySelector(".uploads");
    let ok = true;
    for (const file of files) {
      ok = (await uploadOne(zone, file, list)) && ok;
    }
    // The page stays, so that what each upload started can be read; the listing shows the
    // new objects on request.
    if (ok && !zone.querySelector("a.refresh")) {
      const refresh = document.createElement("a");
      refresh.className = "btn small refresh";
      refresh.href = window.location.href;
      refresh.textContent = "Refresh the listing";
      list.after(refresh);
    }
  }

  function wireUploads(root) {
    root.querySelectorAll("[data-upload]").forEach((zone) => {
      const input = zone.querySelector("input[type=file]");
      zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
      zone.addEventListener("dragleave", () => zone.classList.remove("over"));
      zone.addEventListener("drop", (e) => {
        e.preventDefault();
        zone.classList.remove("over");
        if (e.dataTransfer && e.dataTransfer.files.length) uploadAll(zone, Array.from(e.dataTransfer.files));
      });
      if (input) {
        input.addEventListener("change", () => {
          if (input.files.length) uploadAll(zone, Array.from(input.files));
        });
      }
    });
  }

  // -- close an open row menu when clicking elsewhere ------------------------------------
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // -- the workflow form's graph: each "Reads" select offers the named, chosen transcodes ----
  // (the server renders the saved ones; this adds ids typed since, without a round trip).
  function refreshInputs(root) {
    const named = [];
    root.querySelectorAll(".choice-cell").forEach((cell) => {
      const box = cell.querySelector('input[name="transcodes"]');
      const id = cell.querySelector("input[data-node-id]");
      if (box && box.checked && id && id.value.trim()) {
        named.push([id.value.trim(), `${id.value.trim()} (transcode ${box.value})`, id]);
      }
    });
    root.querySelectorAll("select[data-node-input]").forEach((select) => {
      const own = select.closest("[data-node]")?.querySelector("input[data-node-id]");
      const current = select.value;
      const options = [["", select.options[0]?.text || "The source"]];
      named.forEach(([value, label, id]) => {
        if (id !== own && !options.some((o) => o[0] === value)) options.push([value, label]);
      });
      if (!options.some((o) => o[0] === current)) options.push([current, current]);
      select.replaceChildren(...options.map(([value, label]) => new Option(label, value, false, value === current)));
    });
  }
  function wireNodes(root) {
    if (!root.querySelector("select[data-node-input]")) return;
    root.addEventListener("input", (event) => {
      if (event.target.matches("input[data-node-id]")) refreshInputs(root);
    });
    root.addEventListener("change", (event) => {
      if (event.target.matches('input[name="transcodes"]')) refreshInputs(root);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireToggles(document);
    wireUploads(document);
    wireNodes(document);
  });
})();
