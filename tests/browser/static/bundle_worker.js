// Module worker: runs the bundle check and posts the result (or the error).
import { check } from "./bundle_check.js";

try {
  postMessage({ ok: true, result: await check() });
} catch (e) {
  postMessage({ ok: false, error: String(e && e.stack || e) });
}
