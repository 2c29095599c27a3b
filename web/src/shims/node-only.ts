// Stand-in for Node's "fs" and "path" in the browser bundle. Cornerstone's
// WASM codecs (Emscripten output) require them only inside their
// `if (ENVIRONMENT_IS_NODE)` branch, which never runs in a browser; this
// empty module says so explicitly instead of letting Vite externalize them
// with a warning each.
const nodeOnly: Record<string, never> = Object.freeze({});
export default nodeOnly;
