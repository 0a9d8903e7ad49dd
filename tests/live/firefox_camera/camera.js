// Test only. Firefox cannot read a file as its camera (Chromium's --use-file-for-fake-video-capture), so before
// the page's own scripts run, this replaces navigator.mediaDevices.getUserMedia with one that plays the clip the
// test serves (a real webcam video with a real sound track, VP8 + Opus) in a hidden <video> and returns its
// captureStream(): one video and one audio track, as a camera and microphone would give.
// The page's constraints still go to Firefox's own getUserMedia first (its fake devices, media.navigator.streams.fake):
// if Firefox refuses them the page gets that error, as a student would; if not, what Firefox chose is kept in
// window.__cameraClip.firefox for the test and those tracks are stopped.
(() => {
  const CLIP = "/test-camera/clip.webm";
  let clip = null;

  function clipElement() {
    if (clip) return clip;
    clip = document.createElement("video");
    clip.src = CLIP;
    clip.loop = true;
    clip.playsInline = true;
    clip.preload = "auto";
    clip.setAttribute("aria-hidden", "true");
    clip.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;opacity:0;pointer-events:none";
    (document.body || document.documentElement).append(clip);
    return clip;
  }

  const capture = (v) => (v.captureStream ? v.captureStream() : v.mozCaptureStream());
  const firefoxGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);

  navigator.mediaDevices.getUserMedia = async function getUserMedia(constraints = {}) {
    const own = await firefoxGetUserMedia(constraints); // throws as Firefox would
    const firefox = Object.fromEntries(own.getTracks().map((t) => [t.kind, t.getSettings()]));
    own.getTracks().forEach((t) => t.stop());
    const v = clipElement();
    await v.play();
    const stream = capture(v);
    const want = (kind) => !!constraints[kind];
    const has = (kind) => stream.getTracks().some((t) => t.kind === kind);
    // the element's tracks appear once its media is decoded
    while ((want("video") && !has("video")) || (want("audio") && !has("audio"))) {
      await new Promise((resolve) => stream.addEventListener("addtrack", resolve, { once: true }));
    }
    for (const t of stream.getTracks()) if (!want(t.kind)) stream.removeTrack(t);
    window.__cameraClip = { src: CLIP, tracks: stream.getTracks().map((t) => t.kind), firefox };
    return stream;
  };
})();
