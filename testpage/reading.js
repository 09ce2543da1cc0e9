// The writer's rules for a stream record, in the page's JavaScript: the page checks the very bytes
// it is about to put on the stream, so it can refuse beforehand, in the writer's own words, what
// the writer would reject afterwards (where the user would see nothing).
//
// A port of crates/telemetry/src/payload.rs (decode), reading.rs (the rules and the rejection
// messages) and timestamp.rs (chrono's RFC 3339 parser, serde_json's strictness). Both are held to
// one fixture list, crates/telemetry/tests/fixtures/payloads.json: Rust by tests/payload_fixtures.rs,
// this file by testpage/test/validation.test.mjs in Chromium. A rule changed on one side only
// fails one of them.
(function (root) {
  "use strict";

  const MAX_SENSOR_ID_CHARS = 128;
  const MAX_ABS_VALUE = 1e100;
  const MIN_ABS_VALUE = 1e-100;
  const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
  // 2000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the years whose text sorts as time.
  const MIN_MILLIS = 946_684_800_000;
  const MAX_MILLIS = 253_402_300_799_999;

  /** Why a record would not become a reading: the writer's code and message. */
  class Rejection {
    constructor(code, message) {
      this.code = code;
      this.message = message;
    }
  }

  const reject = (code, message) => {
    throw new Rejection(code, message);
  };

  // Rust's `{:?}` of a string, for messages that quote what was sent. Rust also escapes a few
  // invisible non-control characters (zero-width spaces, for one); only the message differs then.
  function rustDebug(text) {
    let out = '"';
    for (const ch of text) {
      const code = ch.codePointAt(0);
      const named = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" }[ch];
      if (named) {
        out += named;
      } else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
        out += `\\u{${code.toString(16)}}`;
      } else {
        out += ch;
      }
    }
    return out + '"';
  }

  // Rust's `{:e}` of an f64: the shortest digits that round-trip, as JavaScript's, without "+".
  const rustExp = (value) => value.toExponential().replace("e+", "e");

  // Rust's `str::trim`: Unicode White_Space, which has U+0085 and lacks U+FEFF, unlike String.trim.
  const RUST_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  const RUST_TRIM = new RegExp(`^${RUST_SPACE}+|${RUST_SPACE}+$`, "g");
  const rustTrim = (text) => text.replace(RUST_TRIM, "");

  // ---- the rules (reading.rs) ------------------------------------------------------------

  /** The sensor id rule: 1 to 128 characters (code points), none of them a control character. */
  function checkSensorId(id) {
    const chars = [...id].length;
    if (chars === 0) {
      reject("empty_sensor_id", "sensor id is empty");
    }
    if (chars > MAX_SENSOR_ID_CHARS) {
      reject("sensor_id_too_long", `sensor id has ${chars} characters, at most ${MAX_SENSOR_ID_CHARS} are allowed`);
    }
    // Rust's char::is_control is the Cc category: C0, DEL and C1.
    if (/[\u0000-\u001f\u007f-\u009f]/.test(id)) {
      reject("sensor_id_control_character", "sensor id contains a control character");
    }
  }

  const inRange = (value) => {
    const magnitude = Math.abs(value);
    return magnitude === 0 || (magnitude >= MIN_ABS_VALUE && magnitude <= MAX_ABS_VALUE);
  };

  const outOfRange = (written) =>
    reject("value_out_of_range", `value ${written} is outside the magnitudes ${rustExp(MIN_ABS_VALUE)} to ${rustExp(MAX_ABS_VALUE)}`);

  function validateValue(value) {
    if (!Number.isFinite(value)) {
      reject("value_not_finite", "value is not finite");
    }
    if (!inRange(value)) {
      outOfRange(rustExp(value));
    }
    return value;
  }

  // Rust's f64 grammar: digits with an optional point and exponent, or inf, infinity, nan. Not
  // JavaScript's Number(), which also reads "0x10" as 16 and "" as 0.
  const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

  /** A value sent as text: surrounding spaces forgiven, digits only, in range. */
  function parseValueText(text) {
    const trimmed = rustTrim(text);
    if (DECIMAL.test(trimmed)) {
      // Both parsers round correctly, so they agree on every digit string.
      const value = Number(trimmed);
      if (!Number.isFinite(value) || !inRange(value)) {
        outOfRange(trimmed);
      }
      return value;
    }
    if (SPECIAL.test(trimmed)) {
      reject("value_not_finite", "value is not finite");
    }
    return reject("value_not_numeric", `value ${rustDebug(text)} is not a number`);
  }

  // ---- timestamps (timestamp.rs, chrono's parse_from_rfc3339) --------------------------------

  const TIMESTAMP_SYNTAX = "not an RFC 3339 timestamp such as 2015-09-20T10:11:12.345Z";

  /** Milliseconds since the epoch, or a reason. */
  function parseTimestamp(text) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+\-\u2212])(\d{2}):(\d{2}))$/.exec(text);
    if (!m) {
      return { error: TIMESTAMP_SYNTAX };
    }
    const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
    const daysInMonth = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    // chrono takes second 60 as a leap second at the end of any minute.
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth[month - 1] || hour > 23 || minute > 59 || second > 60) {
      return { error: `${TIMESTAMP_SYNTAX} (input is out of range)` };
    }
    let offsetMinutes = 0;
    if (!m[8]) {
      const [hours, minutes] = [Number(m[10]), Number(m[11])];
      if (minutes > 59 || hours * 60 + minutes >= 24 * 60) {
        return { error: `${TIMESTAMP_SYNTAX} (input is out of range)` };
      }
      offsetMinutes = (m[9] === "+" ? 1 : -1) * (hours * 60 + minutes);
    }
    // chrono keeps nine digits of the fraction and the writer whole milliseconds: three.
    const millis = Number((m[7] || "").slice(0, 3).padEnd(3, "0"));
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, second, millis);
    const utc = date.getTime() - offsetMinutes * 60_000;
    if (utc < MIN_MILLIS || utc > MAX_MILLIS) {
      return { error: "outside the supported years 2000 to 9999" };
    }
    return { millis: utc };
  }

  const timestampText = (millis) => new Date(millis).toISOString();

  // ---- JSON as serde_json reads it (payload.rs) ----------------------------------------------
  // JSON.parse is not enough: serde_json refuses a number beyond f64 (1e400) and an unpaired
  // surrogate escape in what it reads into a field or a key, yet only checks the syntax of what it
  // skips (unknown fields, the inside of an array); and of two equal keys each is read. So the
  // payload is scanned here: fields and keys strictly, the rest for syntax alone.

  class JsonError extends Error {}

  function scanner(text) {
    let i = 0;
    const fail = (what) => {
      throw new JsonError(`${what} at character ${i + 1}`);
    };
    const peek = () => text[i];
    const space = () => {
      while (i < text.length && " \t\n\r".includes(text[i])) {
        i += 1;
      }
    };
    const expect = (ch) => {
      if (text[i] !== ch) {
        fail(i < text.length ? `expected \`${ch}\`` : "EOF while parsing");
      }
      i += 1;
    };
    const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    function number(strict) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (!match) {
        fail("invalid number");
      }
      i = NUMBER.lastIndex;
      const value = Number(match[0]);
      if (strict && !Number.isFinite(value)) {
        fail("number out of range");
      }
      return value;
    }
    function hex4() {
      const digits = text.slice(i, i + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
        fail("invalid escape");
      }
      i += 4;
      return parseInt(digits, 16);
    }
    // A string from its opening quote; `strict` refuses unpaired surrogates, as reading into a
    // Rust string does.
    function string(strict) {
      expect('"');
      let out = "";
      for (;;) {
        if (i >= text.length) {
          fail("EOF while parsing a string");
        }
        const ch = text[i];
        i += 1;
        if (ch === '"') {
          return out;
        }
        if (ch < " ") {
          fail("control character (\\u0000-\\u001F) found while parsing a string");
        }
        if (ch !== "\\") {
          out += ch;
          continue;
        }
        const escape = text[i];
        i += 1;
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[escape];
        if (simple !== undefined) {
          out += simple;
          continue;
        }
        if (escape !== "u") {
          fail("invalid escape");
        }
        const unit = hex4();
        if (strict && unit >= 0xdc00 && unit <= 0xdfff) {
          fail("lone leading surrogate in hex escape");
        }
        if (strict && unit >= 0xd800 && unit <= 0xdbff) {
          if (text[i] !== "\\" || text[i + 1] !== "u") {
            fail("unexpected end of hex escape");
          }
          i += 2;
          const low = hex4();
          if (low < 0xdc00 || low > 0xdfff) {
            fail("lone leading surrogate in hex escape");
          }
          out += String.fromCharCode(unit, low);
          continue;
        }
        out += String.fromCharCode(unit);
      }
    }
    function literal(word) {
      if (text.slice(i, i + word.length) !== word) {
        fail("expected ident");
      }
      i += word.length;
    }
    // Any value, for its syntax only; iterative, as serde_json's ignore_value is, so depth costs
    // no stack.
    function skip() {
      const open = [];
      for (;;) {
        space();
        const ch = peek();
        if (ch === "[" || ch === "{") {
          i += 1;
          space();
          const close = ch === "[" ? "]" : "}";
          if (peek() === close) {
            i += 1;
          } else {
            open.push(close);
            if (close === "}") {
              string(false);
              space();
              expect(":");
            }
            continue;
          }
        } else if (ch === '"') {
          string(false);
        } else if (ch === "t") {
          literal("true");
        } else if (ch === "f") {
          literal("false");
        } else if (ch === "n") {
          literal("null");
        } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
          number(false);
        } else {
          fail(ch === undefined ? "EOF while parsing a value" : "expected value");
        }
        // After a value: the next member, the end of its container, or the end of the skip.
        for (;;) {
          if (open.length === 0) {
            return;
          }
          space();
          const close = open[open.length - 1];
          if (peek() === ",") {
            i += 1;
            if (close === "}") {
              space();
              string(false);
              space();
              expect(":");
            }
            break;
          }
          expect(close);
          open.pop();
        }
      }
    }
    // The members of an object whose keys serde_json reads (into a Rust string), with each value
    // handed to `member`.
    function members(member) {
      expect("{");
      space();
      if (peek() === "}") {
        i += 1;
        return;
      }
      for (;;) {
        space();
        const key = string(true);
        space();
        expect(":");
        space();
        member(key);
        space();
        if (peek() === ",") {
          i += 1;
          continue;
        }
        expect("}");
        return;
      }
    }
    // A field's value, keeping its JSON type (payload.rs' Field).
    function field() {
      const ch = peek();
      if (ch === '"') {
        return { kind: "a string", string: string(true) };
      }
      if (ch === "-" || (ch >= "0" && ch <= "9")) {
        return { kind: "a number", number: number(true) };
      }
      if (ch === "n") {
        literal("null");
        return { kind: "null" };
      }
      if (ch === "t" || ch === "f") {
        literal(ch === "t" ? "true" : "false");
        return { kind: "a boolean" };
      }
      if (ch === "[") {
        skip();
        return { kind: "an array" };
      }
      if (ch === "{") {
        members(() => skip());
        return { kind: "an object" };
      }
      return fail(ch === undefined ? "EOF while parsing a value" : "expected value");
    }
    function payload() {
      space();
      let result;
      if (peek() === "{") {
        const fields = {};
        members((key) => {
          if (key === "sensorid" || key === "value" || key === "timestamp") {
            fields[key] = field();
          } else {
            skip();
          }
        });
        result = { fields };
      } else {
        result = { other: field().kind };
      }
      space();
      if (i < text.length) {
        fail("trailing characters");
      }
      return result;
    }
    return { payload };
  }

  // ---- the record (payload.rs' decode) -----------------------------------------------------

  function decode(bytes, arrivalMs) {
    let text;
    try {
      // ignoreBOM keeps a leading BOM in the text, where serde_json refuses it.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (_) {
      reject("not_utf8", "payload is not UTF-8 text");
    }
    let parsed;
    try {
      parsed = scanner(text).payload();
    } catch (err) {
      if (err instanceof JsonError) {
        reject("not_json", `payload is not JSON: ${err.message}`);
      }
      throw err;
    }
    if (parsed.other) {
      reject("not_an_object", `payload is JSON ${parsed.other}, expected an object`);
    }
    const { sensorid, value, timestamp } = parsed.fields;
    const wrongType = (name, expected, found) =>
      reject("wrong_type", `field \`${name}\` is ${found.kind}, expected ${expected}`);
    const missing = (name) => reject("missing_field", `field \`${name}\` is missing`);

    if (!sensorid || sensorid.kind === "null") {
      missing("sensorid");
    }
    if (sensorid.kind !== "a string") {
      wrongType("sensorid", "a string", sensorid);
    }
    checkSensorId(sensorid.string);

    let number;
    if (!value || value.kind === "null") {
      missing("value");
    } else if (value.kind === "a number") {
      number = validateValue(value.number);
    } else if (value.kind === "a string") {
      number = parseValueText(value.string);
    } else {
      wrongType("value", "a number or numeric string", value);
    }

    let millis = arrivalMs;
    if (timestamp && timestamp.kind !== "null") {
      if (timestamp.kind !== "a string") {
        wrongType("timestamp", "an RFC 3339 string", timestamp);
      }
      const parsedTime = parseTimestamp(timestamp.string);
      if (parsedTime.error) {
        reject("bad_timestamp", `timestamp ${rustDebug(timestamp.string)} is invalid: ${parsedTime.error}`);
      }
      millis = parsedTime.millis;
      if (millis > arrivalMs + MAX_CLOCK_SKEW_MS) {
        reject(
          "timestamp_in_future",
          `timestamp ${timestampText(millis)} is more than 15 minutes after the record's arrival at ${timestampText(arrivalMs)}`,
        );
      }
    }
    return { sensorId: sensorid.string, timestamp: timestampText(millis), value: number };
  }

  /**
   * What the writer would make of a record's data (bytes) arriving at `arrivalMs`:
   * `{reading: {sensorId, timestamp, value}}` or `{rejection: {code, message}}`.
   */
  function decodeRecord(bytes, arrivalMs) {
    try {
      return { reading: decode(bytes, arrivalMs) };
    } catch (err) {
      if (err instanceof Rejection) {
        return { rejection: err };
      }
      throw err;
    }
  }

  /** The sensor id rule alone: null, or the writer's rejection. */
  function sensorIdRejection(id) {
    try {
      checkSensorId(id);
      return null;
    } catch (err) {
      if (err instanceof Rejection) {
        return err;
      }
      throw err;
    }
  }

  const api = { decodeRecord, sensorIdRejection, MAX_SENSOR_ID_CHARS };
  root.TestPage = Object.assign(root.TestPage || {}, { reading: api });
})(globalThis);
