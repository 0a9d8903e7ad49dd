// The staff home: after sign-in, the pages this person's role may open.
import { $, applyTexts, initLang, signedIn, wireSignout } from "./common.js";

async function main() {
  initLang();
  wireSignout();
  const me = await signedIn(["college_admin", "teacher", "proctor"]);
  $("go-college").hidden = me.role !== "college_admin";
  $("go-teacher").hidden = !["teacher", "college_admin"].includes(me.role);
  $("go-review").hidden = !["proctor", "college_admin"].includes(me.role);
  document.body.dataset.loaded = "home";
  applyTexts();
}

main();
