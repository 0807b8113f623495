// Entry point: shows the twin's health until the stage (HUD issue) replaces this page.
import { fetchHealth } from "./api.js";

const status = document.getElementById("status");

async function refresh() {
  try {
    const { body } = await fetchHealth();
    status.textContent = `twin ${body.status} · NATS ${body.nats}`;
  } catch (error) {
    status.textContent = `twin unreachable: ${error}`;
  }
}

refresh();
setInterval(refresh, 5000);
