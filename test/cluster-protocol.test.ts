/**
 * A replica's error crosses NATS as a reply and is re-raised at the coordinator: the user must see
 * what one server would say — the same code, the message once (not "Invalid input: Invalid input:
 * …", as an unknown doc_id in an explain read before), and the error's details (docId).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, errorReply, replyValue, type Reply } from '../src/cluster/shard-protocol.js';
import { PlaitError } from '../src/errors/index.js';

function overTheWire(err: unknown): unknown {
  const reply = decodeMessage<Reply<{ n: number }>>(encodeMessage(errorReply(err)));
  try {
    replyValue(reply);
  } catch (e) {
    return e;
  }
  assert.fail('an error reply must throw');
}

test('a PlaitError from a replica keeps its code, message and details at the coordinator', () => {
  const original = new PlaitError('INVALID_INPUT', { message: 'unknown document id "d9"', docId: 'd9' });
  const e = overTheWire(original);
  assert.ok(e instanceof PlaitError);
  assert.equal(e.code, 'INVALID_INPUT');
  assert.equal(e.message, 'Invalid input: unknown document id "d9"');
  assert.deepEqual(e.details, { docId: 'd9' });
  assert.deepEqual(e.toJSON(), original.toJSON());
});

test('an error without details stays without details; a non-PlaitError becomes INTERNAL with its message', () => {
  const e = overTheWire(new PlaitError('TIMEOUT', { message: 'shard 1 was slow' }));
  assert.ok(e instanceof PlaitError);
  assert.equal(e.message, 'Timed out: shard 1 was slow');
  assert.equal(e.details, undefined);
  const i = overTheWire(new RangeError('boom'));
  assert.ok(i instanceof PlaitError);
  assert.equal(i.code, 'INTERNAL');
  assert.equal(i.message, 'Internal error: boom');
});

test('a success reply is its payload', () => {
  assert.deepEqual(replyValue(decodeMessage<Reply<{ n: number }>>(encodeMessage({ ok: true, n: 3 }))), { ok: true, n: 3 });
});
