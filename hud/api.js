// The only module that talks to the server.

export async function fetchHealth() {
  const response = await fetch("/api/health", { headers: { accept: "application/json" } });
  return { ok: response.ok, body: await response.json() };
}
