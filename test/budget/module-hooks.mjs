// ESM loader hooks of the budget probe (registered with module.register): every module the loader loads is reported
// to the main thread, so the probe can tell which ones were loaded after the first call.
let port;

export async function initialize(data) {
  port = data.port;
}

export async function load(url, context, nextLoad) {
  port.postMessage(url);
  return nextLoad(url, context);
}
