// The pane's `people` list for GET /messages/{id}: what lets the server read the message and the
// people's Outlook contacts in one Graph request. Bounded so the URL always fits a request line.
import assert from "node:assert/strict";
import { test } from "node:test";

import { peopleQuery } from "../../addin/shared/api.js";

const person = (address) => ({ name: "", address });
const decoded = (query) => decodeURIComponent(query.replace(/^\?people=/, "")).split(",");

test("From, To and Cc in order, each once, without the user's own address", () => {
  const message = {
    from: person("lynne@northwind.example"),
    to: [person("Adele.Vance@contoso.com"), person("diego@tailspin.example"), person("lynne@northwind.example")],
    cc: [person("megan@contoso.com"), person("")],
  };
  assert.deepEqual(decoded(peopleQuery(message, "adele.vance@contoso.com")),
    ["lynne@northwind.example", "diego@tailspin.example", "megan@contoso.com"]);
});

test("nothing to send gives no query at all", () => {
  assert.equal(peopleQuery(null), "");
  assert.equal(peopleQuery({ from: null, to: [], cc: [] }), "");
});

test("at most 19 people (a $batch of 20 holds the message too), and a short URL however long they are", () => {
  const many = { from: person("a0@x.example"), to: Array.from({ length: 60 }, (_, n) => person(`a${n + 1}@x.example`)), cc: [] };
  assert.equal(decoded(peopleQuery(many)).length, 19);
  const long = { from: null, to: Array.from({ length: 19 }, (_, n) => person(`${"l".repeat(60)}${n}@${"d".repeat(180)}.example`)), cc: [] };
  const query = peopleQuery(long);
  assert.ok(query.length <= 1600, query.length);
  assert.ok(decoded(query).length >= 1);
});

test("an address with a comma (quoted local part) is left out rather than split", () => {
  const message = { from: person('"Smith, J"@x.example'), to: [person("ok@x.example")], cc: [] };
  assert.deepEqual(decoded(peopleQuery(message)), ["ok@x.example"]);
});
