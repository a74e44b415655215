// The client tests' fixture in a page: the server is the one the Node
// side started (its WebSocket URL in window.RPBUS_WS), and stays up.

export const repoRoot = "/";

export async function startRpbus() {
  return { url: window.RPBUS_WS, banner: "", stderr: () => "", stop: async () => 0 };
}

/** Polls cond until it returns a truthy value or timeout s pass (bounded count). */
export async function waitFor(timeout, what, cond, interval = 0.01) {
  const deadline = Date.now() + timeout * 1000;
  for (let i = 0; i < 1e5; i++) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
  throw new Error(`timed out after ${timeout} s waiting for ${what}`);
}
