// Fills the read-only summary from /cart/summary (a ReadOnly route in yarp.json).
(async () => {
  const target = document.getElementById("summary");
  try {
    const response = await fetch("/cart/summary", { headers: { "Accept": "application/json" } });
    const summary = await response.json();
    target.textContent = `${summary.itemCount} item(s), ${summary.total}, answered by ${summary.servedBy} (session mode: ${summary.sessionMode})`;
  } catch (error) {
    target.textContent = "The summary could not be loaded: " + error;
  }
})();
