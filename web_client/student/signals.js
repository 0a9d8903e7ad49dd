// The exam page's own signals, reported over the data channel (server/live/protocol.py):
// leaving the tab or window, leaving full screen, copy/cut/paste, and developer-tools-like signs.

const DEVTOOLS_GAP_PX = 160; // docked developer tools take at least this much of the window

export function watchSignals(send) {
  let away = false;
  const setAway = (value, via) => {
    if (value === away) return;
    away = value;
    send({ type: "browser_signal", kind: "tab_switch", phase: value ? "start" : "end", details: { via } });
  };
  const onVisibility = () => setAway(document.visibilityState === "hidden", "visibilitychange");
  const onBlur = () => setAway(true, "blur");
  const onFocus = () => { if (document.visibilityState !== "hidden") setAway(false, "focus"); };

  let wasFull = !!document.fullscreenElement;
  let exited = false;
  const onFullscreen = () => {
    const full = !!document.fullscreenElement;
    if (wasFull && !full) { exited = true; send({ type: "browser_signal", kind: "fullscreen_exit", phase: "start" }); }
    if (full && exited) { exited = false; send({ type: "browser_signal", kind: "fullscreen_exit", phase: "end" }); }
    wasFull = full;
  };

  const onClipboard = (e) => {
    const selection = String(document.getSelection() || "");
    send({ type: "browser_signal", kind: "copy_paste", phase: "instant",
           details: { action: e.type, length: e.type === "paste" ? (e.clipboardData?.getData("text")?.length ?? 0) : selection.length } });
  };

  const onKey = (e) => {
    const k = e.key;
    const combo = (e.ctrlKey || e.metaKey) && e.shiftKey && ["I", "J", "C", "i", "j", "c"].includes(k);
    const mac = e.metaKey && e.altKey && ["i", "j", "c", "I", "J", "C"].includes(k);
    if (k === "F12" || combo || mac) {
      send({ type: "browser_signal", kind: "devtools", phase: "instant", details: { heuristic: "shortcut", key: k } });
    }
  };

  // A change counts once two checks in a row (a second apart) agree on it: a window being resized passes through
  // sizes that look like docked tools for a moment (leaving full screen in Firefox: the outer size is still the
  // screen's while the inner one is already the window's).
  let docked = false;
  let streak = 0;
  const sizeCheck = setInterval(() => {
    const gapW = window.outerWidth - window.innerWidth, gapH = window.outerHeight - window.innerHeight;
    const now = window.outerWidth > 0 && (gapW > DEVTOOLS_GAP_PX || gapH > DEVTOOLS_GAP_PX + 120);
    streak = now === docked ? 0 : streak + 1;
    if (streak >= 2) {
      docked = now;
      streak = 0;
      send({ type: "browser_signal", kind: "devtools", phase: now ? "start" : "end",
             details: { heuristic: "window_size", gap_w: gapW, gap_h: gapH } });
    }
  }, 1000);

  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("blur", onBlur);
  window.addEventListener("focus", onFocus);
  document.addEventListener("fullscreenchange", onFullscreen);
  for (const ev of ["copy", "cut", "paste"]) document.addEventListener(ev, onClipboard);
  document.addEventListener("keydown", onKey);

  return () => {
    clearInterval(sizeCheck);
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("blur", onBlur);
    window.removeEventListener("focus", onFocus);
    document.removeEventListener("fullscreenchange", onFullscreen);
    for (const ev of ["copy", "cut", "paste"]) document.removeEventListener(ev, onClipboard);
    document.removeEventListener("keydown", onKey);
  };
}
