// reelflow console: stream players. Each <figure data-player="hls|dash" data-src="..."> (the
// template _player.html) gets hls.js or dash.js, loaded on first use from /console/players/
// (served by reelflow from `make players`, same origin: the pages' CSP allows nothing else),
// shows the rendition on screen and offers a selector (Auto + each rendition) to force one.
// Media is fetched from the console's object route with the session cookie, so a playlist's
// relative segment names resolve to the objects beside it.
(function () {
  "use strict";

  const scripts = {};
  function loadScript(url) {
    if (!scripts[url]) {
      scripts[url] = new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = url;
        tag.onload = resolve;
        tag.onerror = () => reject(new Error(`could not load ${url.split("?")[0]}`));
        document.head.appendChild(tag);
      });
    }
    return scripts[url];
  }

  // A rendition as the page shows it: {width, height, bitrate} (bits per second).
  function describe(r) {
    const parts = [];
    if (r.width && r.height) parts.push(`${r.width}x${r.height}`);
    if (r.bitrate) parts.push(`${Math.round(r.bitrate / 1000)} kb/s`);
    return parts.join(" · ") || "single rendition";
  }

  // The figure's controls: what is playing, the selector, errors.
  function controls(figure) {
    const video = figure.querySelector("video");
    const now = figure.querySelector("[data-rendition]");
    const select = figure.querySelector("[data-rendition-select]");
    const error = figure.querySelector("[data-player-error]");
    let current = null;
    let auto = true;
    let choices = 0;
    const render = () => {
      if (!current) return;
      // A playlist without a master has no attributes: the decoded size is the truth.
      const shown = {
        width: current.width || video.videoWidth,
        height: current.height || video.videoHeight,
        bitrate: current.bitrate,
      };
      now.textContent = describe(shown) + (auto && choices > 1 ? " (auto)" : "");
      figure.dataset.renditionHeight = String(shown.height || 0);
    };
    video.addEventListener("resize", render);
    return {
      video,
      levels(list) {
        select.replaceChildren(
          new Option("Auto", "-1", true, true),
          ...list.map((r, i) => new Option(describe(r), String(i))),
        );
        select.disabled = list.length < 2;
        choices = list.length;
      },
      show(rendition, index) {
        current = rendition;
        figure.dataset.renditionIndex = String(index);
        render();
      },
      onPick(pick) {
        select.addEventListener("change", () => {
          const index = Number(select.value);
          auto = index < 0;
          figure.dataset.forced = auto ? "" : String(index);
          pick(index);
          render();
        });
      },
      fail(message) {
        error.textContent = `Cannot play this stream: ${message}`;
        error.classList.remove("hidden");
        figure.dataset.playerState = "error";
      },
    };
  }

  function playNative(figure, ui) {
    ui.video.src = figure.dataset.src;
    ui.video.addEventListener("loadedmetadata", () => ui.show({}, 0), { once: true });
  }

  function playHls(figure, ui) {
    return loadScript(figure.dataset.hlsScript).then(() => {
      const Hls = window.Hls;
      if (!Hls.isSupported()) {
        // Safari on iOS: no Media Source Extensions, but its own HLS player.
        if (ui.video.canPlayType("application/vnd.apple.mpegurl")) return playNative(figure, ui);
        throw new Error("this browser has neither Media Source Extensions nor its own HLS player");
      }
      const hls = new Hls({ workerPath: figure.dataset.hlsWorker });
      const rendition = (level) => ({ width: level.width, height: level.height, bitrate: level.bitrate });
      hls.on(Hls.Events.MANIFEST_PARSED, () => ui.levels(hls.levels.map(rendition)));
      // LEVEL_SWITCHED: the fragment now playing is of another level (what is on screen).
      hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => ui.show(rendition(hls.levels[data.level]), data.level));
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) ui.fail(`${data.type}: ${data.details}`);
      });
      // nextLevel: switch at the next fragment, keeping what is buffered up to it (no stall);
      // -1 gives the choice back to the bandwidth estimate.
      ui.onPick((index) => { hls.nextLevel = index; });
      hls.loadSource(figure.dataset.src);
      hls.attachMedia(ui.video);
      figure.hls = hls;
    });
  }

  function playDash(figure, ui) {
    return loadScript(figure.dataset.dashScript).then(() => {
      const dashjs = window.dashjs;
      const player = dashjs.MediaPlayer().create();
      const events = dashjs.MediaPlayer.events;
      let representations = [];
      const rendition = (r) => ({ width: r.width, height: r.height, bitrate: r.bandwidth });
      const indexOf = (r) => representations.findIndex((each) => each.id === r.id);
      player.on(events.STREAM_INITIALIZED, () => {
        representations = player.getRepresentationsByType("video");
        ui.levels(representations.map(rendition));
        const current = player.getCurrentRepresentationForType("video");
        if (current) ui.show(rendition(current), indexOf(current));
      });
      // QUALITY_CHANGE_RENDERED: the new representation is on screen.
      player.on(events.QUALITY_CHANGE_RENDERED, (event) => {
        if (event.mediaType === "video") ui.show(rendition(event.newRepresentation), indexOf(event.newRepresentation));
      });
      player.on(events.ERROR, (event) => {
        const error = event.error || {};
        ui.fail(error.message || String(error.code || "dash.js error"));
      });
      // forceReplace (true): what is buffered ahead is replaced, so the choice is on screen
      // within a segment instead of after the whole buffer (up to 18 s) has played out.
      ui.onPick((index) => {
        const auto = index < 0;
        player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
        if (!auto) player.setRepresentationForTypeByIndex("video", index, true);
      });
      player.initialize(ui.video, figure.dataset.src, false);
      figure.dash = player;
    });
  }

  function wire(root) {
    root.querySelectorAll("figure[data-player]").forEach((figure) => {
      if (figure.dataset.playerState || !figure.dataset.hlsScript) return; // wired, or not installed
      figure.dataset.playerState = "starting";
      const ui = controls(figure);
      const start = figure.dataset.player === "hls" ? playHls : playDash;
      Promise.resolve()
        .then(() => start(figure, ui))
        .then(() => { if (figure.dataset.playerState === "starting") figure.dataset.playerState = "ready"; })
        .catch((error) => ui.fail(error.message || String(error)));
    });
  }

  document.addEventListener("DOMContentLoaded", () => wire(document));
  // The task page's live part is replaced by htmx while the task runs: a stream output
  // that appears later is wired then (a preserved player keeps its state).
  document.addEventListener("htmx:load", (event) => wire(event.target));
})();
