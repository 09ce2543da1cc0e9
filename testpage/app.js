// The page: reads config.js, wires the three forms to aws.js, and shows results and errors.
(function () {
  "use strict";

  const { aws, chart, reading: rules } = globalThis.TestPage;
  const $ = (id) => document.getElementById(id);

  // The writer's and the archiver's batching windows: their event-source mappings'
  // MaximumBatchingWindowInSeconds (crates/stack/src/mapping.rs), which
  // testpage/test/what_happened.test.mjs holds equal to the template's.
  const WRITER_WINDOW_MS = 1000;
  const ARCHIVER_WINDOW_MS = 10_000;
  // On AWS, Lambda polls each shard about once a second before the window even starts, and the
  // writer may start cold ("Polling and batching streams",
  // https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html); the local target polls on
  // every append. Five seconds covers both with room for a loaded machine.
  const STORE_MARGIN_MS = 5000;
  const STORE_DEADLINE_MS = WRITER_WINDOW_MS + STORE_MARGIN_MS;
  const CONFIRM_POLL_MS = 500;
  const seconds = (ms) => `${ms / 1000} s`;

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

  /**
   * The id as typed, refused with the writer's own message if the writer would refuse it. Not
   * trimmed: "  " is an id to the writer, and the page must not disagree.
   */
  function sensorIdFrom(input) {
    const id = input.value;
    if (id === "") {
      throw inputError(`${input.labels[0].textContent.trim()} is empty.`, "Type a sensor id, e.g. sensor-1.");
    }
    const rejection = rules.sensorIdRejection(id);
    if (rejection) {
      throw inputError(`The writer refuses this id: ${rejection.message}.`);
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

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function paragraph(...parts) {
    const p = document.createElement("p");
    p.append(...parts);
    return p;
  }

  function code(text, id) {
    const element = document.createElement("code");
    element.textContent = text;
    if (id) {
      element.id = id;
    }
    return element;
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
    $("pipeline").hidden = true;
    for (const control of document.querySelectorAll("main form input, main form button")) {
      control.disabled = true;
    }
    return;
  }
  $("target-line").textContent =
    config.target === "local"
      ? `Local target, stack ${config.stackName || "?"}, at ${config.kinesisEndpoint}.`
      : `AWS ${config.region}, stack ${config.stackName || "?"}: stream ${config.streamName}, function ${config.apiFunctionName}.`;

  // ---- what happens to a reading -----------------------------------------------------------

  // The names follow the stack definition (crates/stack): <stack>-SensorData,
  // <stack>-eventarchive-<account>, the writer <stack>-IoTDDBEventProcessor and its log group.
  const stack = config.stackName || "<stack>";
  const names = {
    stream: config.streamName,
    function: config.apiFunctionName,
    table: `${stack}-SensorData`,
    bucket: `${stack}-eventarchive-<account id>`,
    "writer-log": `/aws/lambda/${stack}-IoTDDBEventProcessor`,
    "state-dir": `.local-state/${stack}`,
    "writer-window": seconds(WRITER_WINDOW_MS),
    "archiver-window": seconds(ARCHIVER_WINDOW_MS),
  };
  for (const element of document.querySelectorAll("#pipeline [data-name]")) {
    element.textContent = names[element.dataset.name];
  }
  // The target in use first; the other stays for comparison.
  const here = config.target === "local" ? "local" : "aws";
  const where = document.querySelector("#pipeline .where");
  where.prepend($(`where-${here}-title`), $(`where-${here}`));

  // Where a rejection's reason can be read, for the "not stored" messages.
  const rejectionsAt =
    config.target === "local"
      ? "The local target's terminal counts it under rejected."
      : `The writer's log group ${names["writer-log"]} names the reason, with the sequence number.`;
  const ifRejected =
    config.target === "local"
      ? "Had the writer rejected it, the local target's terminal would count it under rejected."
      : `Had the writer rejected it, its log group ${names["writer-log"]} would name the reason, with the sequence number.`;

  // ---- submit ----------------------------------------------------------------------------

  // The last reading this page put on the stream, until a query finds it in the table.
  let submission = null;

  function setSubmitState(state, ...lines) {
    const result = $("submit-result");
    result.dataset.state = state;
    const status = $("submit-status");
    status.replaceChildren(...lines);
  }

  /** Queries for the reading just put until it is in the table or the deadline has passed. */
  async function confirmStored(current) {
    const { reading, rejection } = current;
    const deadline = current.acceptedAt + STORE_DEADLINE_MS;
    for (;;) {
      let items;
      let failure;
      try {
        const page = await aws.queryReadings(config, {
          sensorid: reading.sensorId,
          from: reading.timestamp,
          to: reading.timestamp,
          limit: 1,
        });
        items = page.Items;
      } catch (err) {
        if (submission !== current) {
          return;
        }
        // The API refuses to look up an id the writer refuses to store (a 300-character one):
        // then there is nothing to find, and the deadline still decides.
        if (rejection && err.kind === "validation") {
          items = [];
        } else {
          failure = err;
        }
      }
      if (failure) {
        current.state = "unconfirmed";
        setSubmitState(
          "unconfirmed",
          paragraph(`Could not confirm that it is stored: querying for it failed (${failure.title}: ${failure.detail}).`),
        );
        return;
      }
      // A newer submit took over the status line.
      if (submission !== current) {
        return;
      }
      const found = items.find((item) => item.Timestamp === reading.timestamp);
      if (found) {
        current.state = "stored";
        const same = Number(found.Value) === reading.value;
        setSubmitState(
          "stored",
          paragraph(
            same
              ? `Stored: a query finds it in the table (${reading.timestamp}, value ${found.Value}), `
              : `Stored with value ${found.Value}, not ${reading.value}: a later reading with the same sensor id and timestamp replaced it. `,
            `${seconds(Math.round((Date.now() - current.acceptedAt) / 100) * 100)} after the stream accepted it.`,
          ),
        );
        return;
      }
      if (Date.now() >= deadline) {
        current.state = "missing";
        const why = rejection
          ? `The writer rejects it: ${rejection.message}. ${rejectionsAt}`
          : `The page's checks (the writer's rules) passed, so it is either late (the writer is slow or not ` +
            `running) or was replaced by another reading with the same sensor id and timestamp. ` +
            `${ifRejected} Query the sensor again later.`;
        setSubmitState(
          "missing",
          paragraph(
            `Not stored: it did not appear in the table within ${seconds(STORE_DEADLINE_MS)} ` +
              `(the writer's ${seconds(WRITER_WINDOW_MS)} batching window plus ${seconds(STORE_MARGIN_MS)}). `,
          ),
          paragraph(why),
        );
        return;
      }
      await sleep(CONFIRM_POLL_MS);
    }
  }

  const submitForm = $("submit-form");
  submitForm.addEventListener(
    "submit",
    withBusy(submitForm.querySelector("button[type=submit]"), async () => {
      const result = $("submit-result");
      const errorBox = $("submit-error");
      clearError(errorBox);
      result.replaceChildren();
      delete result.dataset.state;
      try {
        const sensorId = $("submit-sensor").value;
        const valueText = $("submit-value").value;
        if (sensorId === "") {
          throw inputError("Sensor id is empty.", "Type a sensor id, e.g. sensor-1.");
        }
        // The value goes as typed, as text, as the 2015 page sent it: the writer then judges
        // exactly what the user wrote, not what JavaScript made of it ("0x10" is not 16).
        const timestamp = new Date().toISOString();
        const data = aws.readingData({ sensorId, value: valueText, timestamp });
        // The stream's arrival time is not known yet; the page's clock stands in for it.
        const verdict = rules.decodeRecord(data, Date.now());
        const sendAnyway = $("submit-unchecked").checked;
        if (verdict.rejection && !sendAnyway) {
          throw new aws.PageError(
            "input",
            "The writer would reject this reading",
            `${verdict.rejection.message}.`,
            "Correct the form and submit again. Nothing was sent.",
          );
        }
        const put = await aws.putRecord(config, sensorId, data);
        const current = {
          reading: verdict.reading || { sensorId, timestamp, value: NaN },
          rejection: verdict.rejection,
          acceptedAt: Date.now(),
          state: "pending",
        };
        submission = current;
        const accepted = paragraph(
          "Accepted by the stream: shard ",
          code(put.shardId, "submit-shard"),
          ", sequence number ",
          code(put.sequenceNumber, "submit-sequence"),
          ".",
        );
        const status = document.createElement("div");
        status.id = "submit-status";
        result.replaceChildren(accepted, status);
        setSubmitState(
          "pending",
          paragraph(
            verdict.rejection
              ? `The writer will reject it: ${verdict.rejection.message}. Watching the table for ${seconds(STORE_DEADLINE_MS)} to show it…`
              : `Not stored yet: the writer stores readings up to ${seconds(WRITER_WINDOW_MS)} after the stream accepts them. Checking the table…`,
          ),
        );
        confirmStored(current);
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

  /** The previous answer goes as soon as a new query fails, so no error sits over stale readings. */
  function clearResults() {
    queryState.query = null;
    queryState.next = null;
    queryState.items = [];
    $("query-results").hidden = true;
    $("query-table").querySelector("tbody").replaceChildren();
    $("query-chart").replaceChildren();
    $("query-summary").textContent = "";
    $("query-pending").hidden = true;
  }

  // A reading the stream accepted that this answer should hold but does not: storage trails the
  // stream by up to the writer's batching window, which is easy to mistake for a lost reading.
  function pendingNote() {
    const { query, items } = queryState;
    const current = submission;
    if (!current || current.state === "stored" || current.state === "missing" || current.reading.sensorId !== query.sensorid) {
      return null;
    }
    const time = current.reading.timestamp;
    if ((query.from && time < query.from) || (query.to && time > query.to) || items.some((item) => item.Timestamp === time)) {
      return null;
    }
    return (
      `The reading submitted at ${time} is not in this answer yet: the stream accepted it, and the writer stores ` +
      `readings up to ${seconds(WRITER_WINDOW_MS)} later (its batching window). Query again in a moment.`
    );
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
      $("query-summary").textContent =
        `No readings of sensor ${query.sensorid} match. A reading reaches the table up to ` +
        `${seconds(WRITER_WINDOW_MS)} after the stream accepts it (the writer's batching window), ` +
        `so one submitted a moment ago may not be here yet.`;
    }
    const note = pendingNote();
    $("query-pending").textContent = note || "";
    $("query-pending").hidden = !note;
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
        const query = {
          sensorid: sensorIdFrom($("query-sensor")),
          from: localTimeToRfc3339($("query-from")),
          to: localTimeToRfc3339($("query-to")),
          limit,
        };
        clearResults();
        queryState.query = query;
        await fetchPage();
      } catch (err) {
        clearResults();
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
        // The pages shown are still this query's answer; only the next one is missing.
        $("query-summary").textContent =
          `${queryState.items.length} readings shown; the next page could not be read (see the error above).`;
        showError(errorBox, err);
      }
    }),
  );

  // ---- simulate --------------------------------------------------------------------------

  // Answers that retrying cannot change: a refused key, a stream that is not there.
  const FATAL_KINDS = new Set(["access-denied", "config"]);
  const FATAL_IN_A_ROW = 3;
  const sim = { running: false, sent: 0, failed: 0, throttled: 0, refusedInARow: 0, loops: [], stopping: null };

  function showCounts() {
    $("simulate-sent").value = String(sim.sent);
    $("simulate-failed").value = String(sim.failed);
    $("simulate-throttled").value = String(sim.throttled);
  }

  // Each refusal for throughput counts, and is resent; a reading fails only after its last try.
  function countThrottled() {
    sim.throttled += 1;
    showCounts();
  }

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
        await aws.putReading(
          config,
          {
            sensorId,
            value: Math.round(value * 100) / 100,
            timestamp: new Date(ms).toISOString(),
          },
          { onThrottled: countThrottled },
        );
        sim.sent += 1;
        sim.refusedInARow = 0;
      } catch (err) {
        sim.failed += 1;
        sim.refusedInARow = FATAL_KINDS.has(err.kind) ? sim.refusedInARow + 1 : 0;
        showError($("simulate-error"), err);
        if (sim.refusedInARow >= FATAL_IN_A_ROW && sim.running) {
          // Every further call would be refused the same way: stop, and say so.
          stopSimulation(
            `Stopped: the last ${FATAL_IN_A_ROW} calls were refused (${err.title.toLowerCase()}), and every further ` +
              `call would be too. Fix what the error below says, then start again.`,
          );
        }
      }
      showCounts();
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
  }

  const simForm = $("simulate-form");
  const startButton = $("simulate-start");
  const stopButton = $("simulate-stop");

  async function stopSimulation(finalState) {
    if (sim.stopping) {
      return sim.stopping;
    }
    sim.running = false;
    stopButton.disabled = true;
    $("simulate-state").textContent = "Stopping: waiting for readings in flight…";
    sim.stopping = (async () => {
      // The counts are final only once every request in flight has been answered.
      await Promise.all(sim.loops);
      $("simulate-state").textContent = finalState;
      startButton.disabled = false;
      sim.stopping = null;
    })();
    return sim.stopping;
  }

  /** The ids the simulation uses, each first and last one a link that queries it. */
  function showSimulatedIds(prefix, count) {
    const link = (id) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "linklike";
      button.textContent = id;
      button.title = `Query ${id}`;
      button.addEventListener("click", () => {
        $("query-sensor").value = id;
        queryForm.requestSubmit();
        $("query-title").scrollIntoView();
      });
      return button;
    };
    const box = $("simulate-ids");
    const first = `${prefix}-1`;
    if (count === 1) {
      box.replaceChildren("Sensor id: ", link(first), " (select it to query it).");
    } else {
      box.replaceChildren(
        `Sensor ids: ${prefix}-1 to ${prefix}-${count}, e.g. `,
        link(first),
        " or ",
        link(`${prefix}-${count}`),
        " (select one to query it).",
      );
    }
    box.hidden = false;
  }

  simForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sim.running || sim.stopping) {
      return;
    }
    const errorBox = $("simulate-error");
    clearError(errorBox);
    try {
      const prefix = $("simulate-prefix").value;
      if (prefix === "") {
        throw inputError("Sensor id prefix is empty.", "Type a prefix, e.g. sim.");
      }
      const count = Number($("simulate-count").value);
      const rate = Number($("simulate-rate").value);
      if (!(Number.isInteger(count) && count >= 1 && count <= 100)) {
        throw inputError("Sensors must be a whole number from 1 to 100.");
      }
      if (!(Number.isFinite(rate) && rate >= 0.1 && rate <= 20)) {
        throw inputError("Readings per second must be a number from 0.1 to 20.");
      }
      // The longest id decides: the prefix with the last sensor's number.
      const rejection = rules.sensorIdRejection(`${prefix}-${count}`);
      if (rejection) {
        throw inputError(`The writer refuses the id ${prefix}-${count}: ${rejection.message}.`);
      }
      sim.running = true;
      sim.sent = 0;
      sim.failed = 0;
      sim.throttled = 0;
      sim.refusedInARow = 0;
      showCounts();
      startButton.disabled = true;
      stopButton.disabled = false;
      $("simulate-state").textContent = `Running ${count} sensor${count === 1 ? "" : "s"}.`;
      showSimulatedIds(prefix, count);
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
    await stopSimulation("Stopped.");
    startButton.focus();
  });
})();
