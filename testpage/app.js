// The page: reads config.js, wires the three forms to aws.js, and shows results and errors.
(function () {
  "use strict";

  const { aws, chart } = globalThis.TestPage;
  const $ = (id) => document.getElementById(id);

  function showError(box, err) {
    const error =
      err instanceof aws.PageError
        ? err
        : new aws.PageError("bug", "Unexpected error", String((err && err.message) || err), "Reload the page and try again.");
    const title = document.createElement("strong");
    title.textContent = error.title;
    const detail = document.createElement("p");
    detail.textContent = error.detail;
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = error.hint;
    box.replaceChildren(title, detail, hint);
    box.dataset.kind = error.kind;
    box.hidden = false;
  }

  function clearError(box) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.kind;
  }

  function inputError(message, hint) {
    return new aws.PageError("input", "Check the form", message, hint || "Correct the field and try again.");
  }

  function sensorIdFrom(input) {
    const id = input.value;
    if (id.trim() === "") {
      throw inputError(`${input.labels[0].textContent.trim()} is empty.`, "Type a sensor id, e.g. sensor-1.");
    }
    if ([...id].length > 128) {
      throw inputError("The sensor id is longer than 128 characters.");
    }
    if (/[\u0000-\u001f\u007f-\u009f]/.test(id)) {
      throw inputError("The sensor id contains a control character (a tab or line break, for instance).");
    }
    return id;
  }

  function withBusy(button, work) {
    return async (event) => {
      event.preventDefault();
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        await work();
      } finally {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      }
    };
  }

  // ---- configuration -------------------------------------------------------------------

  const config = globalThis.IOT_CONFIG;
  const missing = aws.missingConfigFields(config);
  const ready = missing.length === 0 && (config.target === "aws" || config.target === "local");

  if (!ready) {
    $("setup").hidden = false;
    $("setup-problem").textContent =
      config === undefined
        ? "config.js was not found next to this page, so the page does not know where to send readings."
        : missing.length > 0
          ? `config.js is incomplete: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing or empty.`
          : `config.js names target "${config.target}"; it must be "aws" or "local".`;
    $("target-line").textContent = "Not configured.";
    for (const control of document.querySelectorAll("main form input, main form button")) {
      control.disabled = true;
    }
    return;
  }
  $("target-line").textContent =
    config.target === "local"
      ? `Local target, stack ${config.stackName || "?"}, at ${config.kinesisEndpoint}.`
      : `AWS ${config.region}, stack ${config.stackName || "?"}: stream ${config.streamName}, function ${config.apiFunctionName}.`;

  // ---- submit ----------------------------------------------------------------------------

  const submitForm = $("submit-form");
  submitForm.addEventListener(
    "submit",
    withBusy(submitForm.querySelector("button"), async () => {
      const result = $("submit-result");
      const errorBox = $("submit-error");
      clearError(errorBox);
      result.replaceChildren();
      try {
        const sensorId = sensorIdFrom($("submit-sensor"));
        const text = $("submit-value").value.trim();
        const value = Number(text);
        if (text === "" || !Number.isFinite(value)) {
          throw inputError(`Value "${text}" is not a number.`, "Type a number such as 21.5 or -3e2.");
        }
        const stored = await aws.putReading(config, { sensorId, value, timestamp: new Date().toISOString() });
        const line = document.createElement("p");
        line.append("Stored in shard ");
        const shard = document.createElement("code");
        shard.id = "submit-shard";
        shard.textContent = stored.shardId;
        const seq = document.createElement("code");
        seq.id = "submit-sequence";
        seq.textContent = stored.sequenceNumber;
        line.append(shard, " as sequence number ", seq, ".");
        result.replaceChildren(line);
      } catch (err) {
        showError(errorBox, err);
      }
    }),
  );

  // ---- query -----------------------------------------------------------------------------

  const queryState = { query: null, next: null, items: [] };

  function localTimeToRfc3339(input) {
    if (input.value === "") {
      return undefined;
    }
    const date = new Date(input.value);
    if (Number.isNaN(date.getTime())) {
      throw inputError(`${input.labels[0].firstChild.textContent.trim()} is not a valid date and time.`);
    }
    return date.toISOString();
  }

  function renderResults() {
    const { items, query, next } = queryState;
    const body = $("query-table").querySelector("tbody");
    body.replaceChildren(
      ...items.map((item) => {
        const row = document.createElement("tr");
        const time = document.createElement("td");
        time.textContent = item.Timestamp;
        const value = document.createElement("td");
        value.textContent = String(item.Value);
        row.append(time, value);
        return row;
      }),
    );
    $("query-caption").textContent = `Readings of sensor ${query.sensorid}, newest first`;
    $("query-summary").textContent =
      `${items.length} reading${items.length === 1 ? "" : "s"} shown` + (next ? "; more are available." : ".");
    // Shown before drawing: the chart takes its width from its box.
    $("query-results").hidden = false;
    chart.drawChart(
      $("query-chart"),
      items.map((item) => ({ time: Date.parse(item.Timestamp), value: Number(item.Value) })),
      query.sensorid,
    );
    $("query-more").hidden = !next;
    const empty = items.length === 0;
    $("query-chart").style.display = empty ? "none" : "";
    document.querySelector("#query-results .table-wrap").hidden = empty;
    if (empty) {
      $("query-summary").textContent = `No readings of sensor ${query.sensorid} match.`;
    }
  }

  async function fetchPage() {
    const page = await aws.queryReadings(config, { ...queryState.query, next: queryState.next || undefined });
    queryState.items = queryState.items.concat(page.Items);
    queryState.next = page.NextToken || null;
    renderResults();
  }

  const queryForm = $("query-form");
  queryForm.addEventListener(
    "submit",
    withBusy(queryForm.querySelector("button"), async () => {
      const errorBox = $("query-error");
      clearError(errorBox);
      try {
        const limitText = $("query-limit").value.trim();
        const limit = limitText === "" ? undefined : Number(limitText);
        if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 1000)) {
          throw inputError(`Readings per page must be a whole number from 1 to 1000, not "${limitText}".`);
        }
        queryState.query = {
          sensorid: sensorIdFrom($("query-sensor")),
          from: localTimeToRfc3339($("query-from")),
          to: localTimeToRfc3339($("query-to")),
          limit,
        };
        queryState.next = null;
        queryState.items = [];
        await fetchPage();
      } catch (err) {
        showError(errorBox, err);
      }
    }),
  );

  const moreButton = $("query-more");
  moreButton.addEventListener(
    "click",
    withBusy(moreButton, async () => {
      const errorBox = $("query-error");
      clearError(errorBox);
      try {
        await fetchPage();
      } catch (err) {
        showError(errorBox, err);
      }
    }),
  );

  // ---- simulate --------------------------------------------------------------------------

  const sim = { running: false, sent: 0, failed: 0, loops: [] };

  function showCounts() {
    $("simulate-sent").value = String(sim.sent);
    $("simulate-failed").value = String(sim.failed);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // One loop per sensor. The table's key is (sensor id, timestamp in ms), so each sensor's
  // timestamps strictly increase in whole milliseconds, or a reading would overwrite another.
  async function sensorLoop(sensorId, intervalMs) {
    let lastMs = 0;
    let value = 20 + Math.random() * 5;
    while (sim.running) {
      const started = Date.now();
      const ms = Math.max(started, lastMs + 1);
      lastMs = ms;
      value += (Math.random() - 0.5) * 0.5;
      try {
        await aws.putReading(config, {
          sensorId,
          value: Math.round(value * 100) / 100,
          timestamp: new Date(ms).toISOString(),
        });
        sim.sent += 1;
      } catch (err) {
        sim.failed += 1;
        showError($("simulate-error"), err);
      }
      showCounts();
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
  }

  const simForm = $("simulate-form");
  const startButton = $("simulate-start");
  const stopButton = $("simulate-stop");

  simForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sim.running) {
      return;
    }
    const errorBox = $("simulate-error");
    clearError(errorBox);
    try {
      const prefix = sensorIdFrom($("simulate-prefix"));
      const count = Number($("simulate-count").value);
      const rate = Number($("simulate-rate").value);
      if (!(Number.isInteger(count) && count >= 1 && count <= 100)) {
        throw inputError("Sensors must be a whole number from 1 to 100.");
      }
      if (!(Number.isFinite(rate) && rate >= 0.1 && rate <= 20)) {
        throw inputError("Readings per second must be a number from 0.1 to 20.");
      }
      sim.running = true;
      sim.sent = 0;
      sim.failed = 0;
      showCounts();
      startButton.disabled = true;
      stopButton.disabled = false;
      $("simulate-state").textContent = `Running ${count} sensor${count === 1 ? "" : "s"}.`;
      sim.loops = Array.from({ length: count }, (_, i) => sensorLoop(`${prefix}-${i + 1}`, 1000 / rate));
      stopButton.focus();
    } catch (err) {
      showError(errorBox, err);
    }
  });

  stopButton.addEventListener("click", async () => {
    if (!sim.running) {
      return;
    }
    sim.running = false;
    stopButton.disabled = true;
    $("simulate-state").textContent = "Stopping: waiting for readings in flight…";
    // The counts are final only once every request in flight has been answered.
    await Promise.all(sim.loops);
    $("simulate-state").textContent = "Stopped.";
    startButton.disabled = false;
    startButton.focus();
  });
})();
